/**
 * The image's start (`npm start` = `node <flags> build/start.cjs`): runs build/<HEAPDUMP_FUNCTION>.cjs, the
 * function's own bundle with faas-js-runtime inside, compiled from the V8 code cache `npm run build`
 * wrote beside it. A Knative instance starts cold, so a cache made at run time would never be there;
 * made at build time it spares most of the parsing and compiling a start would do. A cache V8 refuses
 * (another Node version, or other node flags than the build's) only costs that time back.
 *
 * With `--write-code-cache` (run by the build, once per function) it loads the bundle, serves one event
 * with a no-op handler on loopback, so the runtime's start and request path are compiled too, writes the
 * cache and exits.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import type { FunctionModule, serveFunction } from './server.ts';

/** What each function's bundle exports (see scripts/build-functions.ts). */
export interface FunctionBundle {
  serveFunction: typeof serveFunction;
  functionModule: FunctionModule;
}

/** The functions this build holds: a bundle each, beside this file. */
const names = readdirSync(__dirname)
  .filter((file) => file.endsWith('.cjs') && file !== 'start.cjs')
  .map((file) => file.slice(0, -'.cjs'.length));

function loadBundle(file: string): { bundle: FunctionBundle; script: Script } {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {}
  // The wrapper Node puts around every CommonJS file, so the bundle runs as if it were require()d.
  // The build writes ASCII only (checked there): as latin1 the text needs no UTF-8 decoding, a third
  // of the time it takes to read.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'latin1')}\n})`;
  const script = new Script(source, { filename: file, cachedData });
  if (cachedData && script.cachedDataRejected) {
    console.warn(
      JSON.stringify({
        level: 'warn',
        msg: `V8 refused the code cache ${file}.cache (built by another Node version or with other node flags?); compiling instead`,
      }),
    );
  }
  const module = { exports: {} as FunctionBundle };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return { bundle: module.exports, script };
}

async function writeCodeCache(file: string): Promise<void> {
  const { bundle, script } = loadBundle(file);
  const server = await bundle.serveFunction(
    'warm-up',
    { handle: () => undefined },
    { ...process.env, FUNC_HOST: '127.0.0.1', FUNC_PORT: '0' },
  );
  const { port } = server.address() as { port: number };
  const response = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'warm-up',
      'ce-source': 'heapdump/build',
      'ce-type': 'dev.heapdump.build.warm-up',
    },
    body: '{}',
  });
  await response.arrayBuffer();
  server.close();
  writeFileSync(`${file}.cache`, script.createCachedData());
}

async function main(): Promise<void> {
  const name = process.env.HEAPDUMP_FUNCTION ?? '';
  if (!names.includes(name)) {
    throw new Error(`HEAPDUMP_FUNCTION must name one of ${names.join(', ')}; got "${name}"`);
  }
  const file = join(__dirname, `${name}.cjs`);
  if (process.argv.includes('--write-code-cache')) {
    await writeCodeCache(file);
    process.exit(0);
  }
  const { bundle } = loadBundle(file);
  await bundle.serveFunction(name, bundle.functionModule);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
