import type { IncomingMessage } from 'node:http';
import { Readable, Writable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import WebSocket from 'ws';
import { PermanentError, TransientError } from '../../functions/lib/errors.ts';
import { ExecRefusedError, toKubernetesError } from './errors.ts';

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
}

export interface ExecStreamOptions {
  stdin?: Buffer | string;
  /** Abort (TransientError) when the command has not finished by then; none by default. */
  timeoutMs?: number;
  /** How much stdout may wait in memory for the reader before the WebSocket stops reading. */
  highWaterMark?: number;
  /** stderr beyond this is dropped (a command that floods stderr still ends with a readable message). */
  maxStderrBytes?: number;
}

export interface ExecEnd {
  exitCode: number;
  stderr: string;
}

export interface ExecStream {
  /** The command's stdout; ends when the command ends, errors when the exec fails. */
  stdout: Readable;
  /** The command's exit code and stderr; rejects with TransientError/PermanentError when it could not run. */
  done: Promise<ExecEnd>;
  abort(reason?: Error): void;
}

/**
 * Runs argv in a container through the API server's exec WebSocket (the client negotiates v5.channel.k8s.io)
 * and hands stdout out as a stream with backpressure: @kubernetes/client-node writes every frame to its output
 * stream without waiting, so while the reader is behind, the WebSocket itself is paused and TCP pushes back to
 * the API server and the command.
 */
export function createExecStreamer(kubeConfig: KubeConfig) {
  const exec = new Exec(kubeConfig, new WebSocketHandler(kubeConfig, socketWithRefusalDetails));

  return function execStream(
    target: ExecTarget,
    argv: readonly string[],
    options: ExecStreamOptions = {},
  ): ExecStream {
    const action = `exec ${JSON.stringify(argv[0] ?? '')} in ${target.namespace}/${target.pod}/${target.container}`;
    const maxStderr = options.maxStderrBytes ?? 64 * 1024;
    let socket: WebSocket | undefined;
    let socketPaused = false;
    let stderr = '';
    let status: V1Status | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let resolveDone!: (end: ExecEnd) => void;
    let rejectDone!: (error: Error) => void;
    const done = new Promise<ExecEnd>((resolve, reject) => {
      resolveDone = resolve;
      rejectDone = reject;
    });
    done.catch(() => {}); // callers may only watch stdout; the rejection is theirs to see, not unhandled

    const stdout = new Readable({
      highWaterMark: options.highWaterMark ?? 1 << 20,
      read() {
        if (!socketPaused) return;
        socketPaused = false;
        socket?.resume();
      },
    });
    const stdoutSink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (!stdout.push(chunk) && !socketPaused) {
          socketPaused = true;
          socket?.pause();
        }
        callback();
      },
      final(callback) {
        stdout.push(null);
        callback();
      },
    });
    const stderrSink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (stderr.length < maxStderr) stderr += chunk.toString('utf8').slice(0, maxStderr - stderr.length);
        callback();
      },
    });

    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.terminate();
      stdout.destroy(error);
      rejectDone(error);
    };
    const finish = () => {
      if (settled) return;
      if (!status)
        return fail(new TransientError(`${action}: the connection closed before the command finished`));
      const exitCode = exitCodeOf(status);
      if (exitCode === undefined)
        return fail(
          new TransientError(`${action}: ${status.message ?? 'the command did not run'} (${status.reason})`),
        );
      settled = true;
      clearTimeout(timer);
      resolveDone({ exitCode, stderr });
    };

    if (options.timeoutMs !== undefined)
      timer = setTimeout(
        () => fail(new TransientError(`${action}: no result after ${options.timeoutMs} ms, aborted`)),
        options.timeoutMs,
      );
    const stdin = options.stdin === undefined ? null : Readable.from([Buffer.from(options.stdin)]);
    exec
      .exec(
        target.namespace,
        target.pod,
        target.container,
        [...argv],
        stdoutSink,
        stderrSink,
        stdin,
        false,
        (end) => {
          status = end;
        },
      )
      .then((ws) => {
        socket = ws as unknown as WebSocket;
        if (settled) return void socket.terminate();
        if (socketPaused) socket.pause();
        socket.on('close', finish);
      })
      .catch((error: unknown) => fail(refusalError(unwrapEvent(error), action)));

    return { stdout, done, abort: (reason) => fail(reason ?? new PermanentError(`${action}: aborted`)) };
  };
}

/** The exit code from the Status on channel 3, as client-go reads it; undefined when the command did not run. */
export function exitCodeOf(status: V1Status): number | undefined {
  if (status.status === 'Success') return 0;
  if (status.reason !== 'NonZeroExitCode') return undefined;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : undefined;
}

/**
 * A WebSocket that, when the upgrade is refused, reports the API server's Status message
 * ("pods \"x\" not found", "container y is not valid ...") instead of only "Unexpected server response: 404".
 */
function socketWithRefusalDetails(
  uri: string,
  protocols: string[],
  options: WebSocket.ClientOptions,
): WebSocket {
  const ws = new WebSocket(uri, protocols, options);
  ws.on('unexpected-response', (request, response: IncomingMessage) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.length < 64 && chunks.push(chunk));
    response.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let message = body.slice(0, 500) || `HTTP ${response.statusCode}`;
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? message;
      } catch {
        // not a Status: keep the text
      }
      request.destroy();
      ws.emit('error', new ExecRefusedError(response.statusCode ?? 0, message));
    });
  });
  return ws;
}

/** A container that is not running (restarting, back-off) will be again: that refusal is worth a retry. */
function refusalError(error: unknown, action: string) {
  if (
    error instanceof ExecRefusedError &&
    error.httpStatus === 400 &&
    /container not found/.test(error.message)
  )
    return new TransientError(`${action}: the container is not running (${error.message})`, { cause: error });
  return toKubernetesError(error, action);
}

function unwrapEvent(error: unknown): unknown {
  const inner = (error as { error?: unknown } | undefined)?.error;
  return inner instanceof Error ? inner : error;
}
