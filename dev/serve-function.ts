/**
 * Serves one function from its sources with faas-js-runtime (functions/server.ts), as its own process,
 * as Knative would run it: `tsx dev/serve-function.ts <name> [port]`. The image runs the same server
 * from the build (functions/start.ts).
 */
import { serveFunction } from '../functions/server.ts';

const [name, portArg] = process.argv.slice(2);
if (!name || !/^[a-z-]+$/.test(name)) {
  console.error('usage: serve-function <function-name> [port]');
  process.exit(2);
}
const module = await import(new URL(`../functions/${name}/index.ts`, import.meta.url).href);
await serveFunction(name, module, { ...process.env, ...(portArg ? { FUNC_PORT: portArg } : {}) });
