import { finished } from 'node:stream/promises';
import { CoreV1Api, type KubeConfig, Observable, type ObservableMiddleware } from '@kubernetes/client-node';
import { PermanentError } from '../../functions/lib/errors.ts';
import { Pod } from '../../functions/lib/events/index.ts';
import { httpStatusOfApiError, toKubernetesError } from './errors.ts';
import {
  createExecStreamer,
  type ExecEnd,
  type ExecStream,
  type ExecStreamOptions,
  type ExecTarget,
} from './exec-stream.ts';

export { ExecRefusedError } from './errors.ts';
export type { ExecEnd, ExecStream, ExecStreamOptions, ExecTarget } from './exec-stream.ts';
export { kubeConfigFromYaml, loadKubeConfig } from './kube-config.ts';

export interface ExecOptions {
  stdin?: Buffer | string;
  timeoutMs: number;
  /** More stdout than this fails the exec (PermanentError): this call is for small outputs, use execStream for data. */
  maxStdoutBytes?: number;
  maxStderrBytes?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

/** The one door the functions have to the Kubernetes API: read a pod, run a command in a container. */
export interface Kubernetes {
  /** The pod as the API server has it (same shape as an ApiServerSource event's data), or null when it does not exist. */
  getPod(namespace: string, name: string): Promise<Pod | null>;
  /** Runs argv (never a shell string) and collects its output; a non-zero exit is a result, not an error. */
  exec(target: ExecTarget, argv: readonly string[], options: ExecOptions): Promise<ExecResult>;
  /** Runs argv and streams its stdout with backpressure, for outputs of any size. */
  execStream(target: ExecTarget, argv: readonly string[], options?: ExecStreamOptions): ExecStream;
}

export interface KubernetesOptions {
  /** Per API request (not exec); an API server slower than this counts as down. */
  requestTimeoutMs?: number;
}

export function createKubernetes(kubeConfig: KubeConfig, options: KubernetesOptions = {}): Kubernetes {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const execStream = createExecStreamer(kubeConfig);
  const requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
  // client-node has no request timeout of its own: a middleware gives every request an abort signal.
  const timeoutMiddleware: ObservableMiddleware = {
    pre(context) {
      context.setSignal(AbortSignal.timeout(requestTimeoutMs));
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  const withTimeout = { middleware: [timeoutMiddleware], middlewareMergeStrategy: 'append' as const };

  return {
    async getPod(namespace, name) {
      const action = `get pod ${namespace}/${name}`;
      let pod: unknown;
      try {
        pod = await core.readNamespacedPod({ namespace, name }, withTimeout);
      } catch (error) {
        if (httpStatusOfApiError(error) === 404) return null;
        throw toKubernetesError(error, action);
      }
      // client-node hands out model objects (Dates for timestamps); the functions read plain API JSON.
      const parsed = Pod.safeParse(JSON.parse(JSON.stringify(pod)));
      if (!parsed.success)
        throw new PermanentError(`${action}: unexpected pod object: ${parsed.error.message}`);
      return parsed.data;
    },

    async exec(target, argv, { stdin, timeoutMs, maxStdoutBytes = 16 << 20, maxStderrBytes }) {
      const stream = execStream(target, argv, { stdin, timeoutMs, maxStderrBytes });
      const chunks: Buffer[] = [];
      let size = 0;
      stream.stdout.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxStdoutBytes)
          return stream.abort(
            new PermanentError(
              `exec ${JSON.stringify(argv[0])}: more than ${maxStdoutBytes} bytes of output`,
            ),
          );
        chunks.push(chunk);
      });
      stream.stdout.on('error', () => {}); // the same failure rejects `done`
      const end: ExecEnd = await stream.done;
      await finished(stream.stdout); // the last chunks may still be on their way to the listener
      return { exitCode: end.exitCode, stdout: Buffer.concat(chunks), stderr: end.stderr };
    },

    execStream,
  };
}
