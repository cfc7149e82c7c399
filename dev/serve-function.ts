/**
 * Serves one function with faas-js-runtime, the runtime `kn func` uses for Node, as its own process
 * (as Knative would run it): `tsx dev/serve-function.ts <name> [port]`.
 */
import { start } from 'faas-js-runtime';

const [name, portArg] = process.argv.slice(2);
if (!name || !/^[a-z-]+$/.test(name)) {
  console.error('usage: serve-function <function-name> [port]');
  process.exit(2);
}
const port = Number(portArg ?? process.env.PORT ?? 8080);
const module = await import(new URL(`../functions/${name}/index.ts`, import.meta.url).href);
await start(module, { port, logLevel: 'warn' } as never);
console.log(JSON.stringify({ function: name, port, ready: true }));
