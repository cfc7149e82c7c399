import { fileURLToPath } from 'node:url';
import { type FunctionProcess, startFunctionProcess } from '../../dev/stack/function-process.ts';

export interface FunctionServer extends Omit<FunctionProcess, 'readyMs'> {
  port: number;
}

export interface FunctionServerOptions {
  /** Added to the test process's environment (REDIS_REST_URL, KUBECONFIG, K_SINK, ...). */
  env?: Record<string, string | undefined>;
  /** faas-js-runtime's request body limit in bytes (FUNC_BODY_LIMIT); the runtime's default is 1 MiB. */
  bodyLimit?: number;
  logLevel?: string;
  startTimeoutMs?: number;
  /** Serve from this build's start (build/start.cjs of `npm run build`), as the image does, not under tsx. */
  bundle?: string;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Serves `functions/<name>` with faas-js-runtime in a child process, as the dev stack and Knative do, on a
 * free loopback port, quiet unless a test asks for logs. stop() ends it.
 */
export async function startFunctionServer(
  name: string,
  options: FunctionServerOptions = {},
): Promise<FunctionServer> {
  const fn = await startFunctionProcess(name, {
    root,
    bundle: options.bundle,
    startTimeoutMs: options.startTimeoutMs,
    env: {
      ...options.env,
      FUNC_LOG_LEVEL: options.logLevel ?? 'warn',
      LOG_LEVEL: options.env?.LOG_LEVEL ?? process.env.FUNCTION_LOG_LEVEL ?? 'warn',
      ...(options.bodyLimit ? { FUNC_BODY_LIMIT: String(options.bodyLimit) } : {}),
    },
  });
  return {
    name: fn.name,
    url: fn.url,
    port: Number(new URL(fn.url).port),
    pid: fn.pid,
    output: fn.output,
    stop: fn.stop,
  };
}
