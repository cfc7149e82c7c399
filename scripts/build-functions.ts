/**
 * `npm run build`: bundles every function into `build/` as ES modules, one chunk per function plus the
 * chunks they share, for `npm start` (faas-js-runtime on build/index.mjs) in the image. The function an
 * instance serves (HEAPDUMP_FUNCTION) loads only its own chunks: under tsx a cold start transforms and
 * resolves hundreds of files, about twice the time of the bundle (bench/chain.ts measures both).
 */
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Writes the bundle to `outdir` (default build/) and returns the path of its entry, index.mjs. */
export async function buildFunctions(outdir = join(projectRoot, 'build')): Promise<string> {
  await rm(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { index: join(projectRoot, 'functions', 'index.ts') },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.mjs' },
    // ssh2 (upload-dump's SFTP) loads native addons and leans on sloppy-mode CommonJS. cloudevents must be
    // the runtime's own copy: faas-js-runtime sends a reply as an event only if it is `instanceof` its
    // CloudEvent class (a bundled copy answers plain JSON, which the Broker refuses).
    external: ['ssh2', 'cpu-features', 'cloudevents'],
    banner: {
      // CommonJS dependencies call require() for Node's own modules; an ES module has none of its own.
      js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return join(outdir, 'index.mjs');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const entry = await buildFunctions(process.argv[2]);
  console.log(`built ${entry}`);
}
