/**
 * Serves one function with faas-js-runtime, the runtime `kn func` uses for Node, as its own process
 * (as Knative would run it): `tsx dev/serve-function.ts <name> [port]`. Like the runtime's own CLI it reads
 * FUNC_LOG_LEVEL and FUNC_BODY_LIMIT; FUNC_HOST picks the listen address (the runtime alone always uses `::`).
 */
import faas from 'faas-js-runtime';
import './loopback-listen.mjs';

const [name, portArg] = process.argv.slice(2);
if (!name || !/^[a-z-]+$/.test(name)) {
  console.error('usage: serve-function <function-name> [port]');
  process.exit(2);
}
const port = Number(portArg ?? process.env.PORT ?? 8080);
const module = await import(new URL(`../functions/${name}/index.ts`, import.meta.url).href);
await faas.start(module, {
  port,
  logLevel: process.env.FUNC_LOG_LEVEL ?? 'warn',
  ...(process.env.FUNC_BODY_LIMIT ? { bodyLimit: Number(process.env.FUNC_BODY_LIMIT) } : {}),
} as never);
console.log(JSON.stringify({ function: name, port, ready: true }));
