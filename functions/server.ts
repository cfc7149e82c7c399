/**
 * Serves one function's module with faas-js-runtime, the runtime `kn func` uses for Node. Both starts use
 * it: the image's (build/start.cjs) and `heapdump dev`'s (dev/serve-function.ts under tsx). Like the
 * runtime's own CLI it reads FUNC_PORT (or PORT), FUNC_LOG_LEVEL, FUNC_BODY_LIMIT and FUNC_INCLUDE_RAW.
 */
import type { Server } from 'node:http';
import { type AddressInfo, Server as NetServer } from 'node:net';
import faas from 'faas-js-runtime';

export interface FunctionModule {
  init?: () => unknown;
  handle: (...args: never[]) => unknown;
}

export async function serveFunction(
  name: string,
  module: FunctionModule,
  env: Record<string, string | undefined> = process.env,
): Promise<Server> {
  if (env.FUNC_HOST) listenOnlyOn(env.FUNC_HOST);
  const server = (await faas.start(
    module as never,
    {
      port: Number(env.FUNC_PORT ?? env.PORT ?? 8080),
      logLevel: env.FUNC_LOG_LEVEL ?? 'warn',
      ...(env.FUNC_BODY_LIMIT ? { bodyLimit: Number(env.FUNC_BODY_LIMIT) } : {}),
      ...(env.FUNC_INCLUDE_RAW ? { includeRaw: true } : {}),
    } as never,
  )) as Server;
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ function: name, port, ready: true }));
  return server;
}

/**
 * faas-js-runtime always listens on every interface (`::`), as a pod should; FUNC_HOST narrows that to
 * one address, for local runs, tests and the build's warm-up, which stay on loopback.
 */
function listenOnlyOn(host: string): void {
  const listen = NetServer.prototype.listen;
  NetServer.prototype.listen = function (this: NetServer, ...args: unknown[]) {
    const [options] = args;
    if (options && typeof options === 'object' && (options as { host?: string }).host === '::') {
      args[0] = { ...options, host };
    }
    return listen.apply(this, args as never);
  } as typeof listen;
}
