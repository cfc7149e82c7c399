import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../dev/free-port.ts';

export interface FunctionServer {
  name: string;
  url: string;
  port: number;
  /** The server's process id (to kill it the hard way, as a node losing the pod would). */
  pid: number;
  /** What the process wrote so far (stdout and stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface FunctionServerOptions {
  /** Added to the test process's environment (REDIS_REST_URL, KUBECONFIG, K_SINK, ...). */
  env?: Record<string, string | undefined>;
  /** faas-js-runtime's request body limit in bytes (FUNC_BODY_LIMIT); the runtime's default is 1 MiB. */
  bodyLimit?: number;
  logLevel?: string;
  startTimeoutMs?: number;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Serves `functions/<name>` with faas-js-runtime in a child process (dev/serve-function.ts), as Knative
 * would, on a free loopback port. stop() ends it; the port race with other processes is retried.
 */
export async function startFunctionServer(
  name: string,
  options: FunctionServerOptions = {},
): Promise<FunctionServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(name, await freePort(), options);
    } catch (error) {
      lastError = error;
      if (!String((error as Error).message).includes('EADDRINUSE')) break;
    }
  }
  throw lastError;
}

async function startOnce(
  name: string,
  port: number,
  options: FunctionServerOptions,
): Promise<FunctionServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/serve-function.ts', name, String(port)], {
    cwd: root,
    env: {
      ...process.env,
      ...options.env,
      FUNC_HOST: '127.0.0.1',
      FUNC_LOG_LEVEL: options.logLevel ?? 'warn',
      LOG_LEVEL: options.env?.LOG_LEVEL ?? process.env.FUNCTION_LOG_LEVEL ?? 'warn',
      ...(options.bodyLimit ? { FUNC_BODY_LIMIT: String(options.bodyLimit) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${options.startTimeoutMs ?? 30_000} ms:\n${output}`));
    }, options.startTimeoutMs ?? 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      if (output.includes('"ready":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    name,
    port,
    pid: child.pid!,
    url: `http://127.0.0.1:${port}/`,
    output: () => output,
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}
