/**
 * `npm run build`: what the image runs, in `build/`:
 * - `<function>.cjs`, one CommonJS bundle per function with faas-js-runtime and every dependency inside,
 *   so a cold start reads one file instead of resolving hundreds, and loads only its own function's code;
 *   whitespace and comments stripped (names kept, for stack traces), license comments in `.LEGAL.txt`;
 * - `<function>.cjs.cache`, its V8 code cache, written by serving one event once (functions/start.ts);
 * - `start.cjs`, the start (`npm start`), which runs the bundle HEAPDUMP_FUNCTION names from its cache.
 * bench/chain.ts measures the cold start against the sources under tsx and the stock runtime.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build } from 'esbuild';
import { allFunctions } from '../functions/lib/functions.ts';
import { imageNodeFlags } from './image-start.ts';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const functionsDir = join(projectRoot, 'functions');

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'error',
  // ssh2 (upload-dump's SFTP) loads native addons, which a bundle cannot hold; it stays in node_modules.
  external: ['ssh2', 'cpu-features'],
  minifyWhitespace: true,
  legalComments: 'external',
};

/** Writes the build to `outdir` (default build/) and returns the path of its start, start.cjs. */
export async function buildFunctions(outdir = join(projectRoot, 'build')): Promise<string> {
  await rm(outdir, { recursive: true, force: true });
  // faas-js-runtime (lib/metrics.js) assigns an undeclared variable, which only sloppy mode allows; the
  // project's tsconfig is strict, and esbuild would put "use strict" on top of the whole bundle.
  const tsconfigRaw = await sloppyTsconfig();
  const start = join(outdir, 'start.cjs');
  await Promise.all([
    build({ ...common, entryPoints: [join(functionsDir, 'start.ts')], outfile: start }),
    ...allFunctions.map(({ name }) =>
      build({
        ...common,
        tsconfigRaw,
        stdin: {
          contents:
            "export { serveFunction } from './server.ts';\n" +
            `export * as functionModule from './${name}/index.ts';\n`,
          resolveDir: functionsDir,
          sourcefile: `${name}.ts`,
          loader: 'ts',
        },
        outfile: join(outdir, `${name}.cjs`),
      }),
    ),
  ]);
  for (const { name } of allFunctions) {
    await assertAscii(join(outdir, `${name}.cjs`));
    await promisify(execFile)(
      process.execPath,
      [...imageNodeFlags(projectRoot), start, '--write-code-cache'],
      {
        cwd: projectRoot,
        env: { ...process.env, HEAPDUMP_FUNCTION: name, FUNC_LOG_LEVEL: 'silent' },
        timeout: 60_000,
      },
    );
  }
  return start;
}

/** start.cjs reads the bundles as latin1, which is their text only if every byte is ASCII. */
async function assertAscii(file: string): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.findIndex((byte) => byte > 0x7f);
  if (at >= 0) {
    throw new Error(`${file} has a non-ASCII byte at offset ${at}; start.cjs would misread it as latin1`);
  }
}

async function sloppyTsconfig(): Promise<string> {
  const tsconfig = JSON.parse(await readFile(join(projectRoot, 'tsconfig.json'), 'utf8'));
  return JSON.stringify({
    ...tsconfig,
    compilerOptions: { ...tsconfig.compilerOptions, alwaysStrict: false },
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const start = await buildFunctions(process.argv[2]);
  console.log(`built ${start}`);
}
