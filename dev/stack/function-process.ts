import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { imageNodeFlags } from '../../scripts/image-start.ts';
import { freePort } from '../free-port.ts';

export interface FunctionProcess {
  name: string;
  url: string;
  pid: number;
  /** ms from spawn to the runtime's ready line (module loaded, init() done, port open). */
  readyMs: number;
  /** The last lines the process wrote, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface FunctionProcessOptions {
  root: string;
  env: Record<string, string | undefined>;
  /**
   * The build's start (build/start.cjs of `npm run build`) to serve the function with plain node, as the
   * image's `npm start` does, instead of the sources under tsx.
   */
  bundle?: string;
  /** Appends the process's stdout and stderr here. */
  logFile?: string;
  startTimeoutMs?: number;
}

const TAIL = 8192;

/**
 * One function served by faas-js-runtime in its own process (dev/serve-function.ts), as a Knative
 * Service would run it, on a free loopback port; a lost race for the port is retried.
 */
export async function startFunctionProcess(
  name: string,
  options: FunctionProcessOptions,
): Promise<FunctionProcess> {
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

async function startOnce(name: string, port: number, options: FunctionProcessOptions) {
  const started = performance.now();
  const argv = [
    ...imageNodeFlags(options.root),
    ...(options.bundle ? [options.bundle] : ['--import', 'tsx', 'dev/serve-function.ts', name, String(port)]),
  ];
  const child = spawn(process.execPath, argv, {
    cwd: options.root,
    env: {
      ...process.env,
      ...options.env,
      HEAPDUMP_FUNCTION: name,
      PORT: String(port),
      FUNC_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-TAIL);
    log?.write(chunk);
  };
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => log?.end());

  await new Promise<void>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${tail}`));
    }, timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (tail.includes('"ready":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready:\n${tail}`));
    });
  });
  return {
    name,
    url: `http://127.0.0.1:${port}/`,
    pid: child.pid!,
    readyMs: performance.now() - started,
    output: () => tail,
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
