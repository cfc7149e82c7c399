import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import { createGcNudge } from '../../adapters/pipeline/gc-nudge.ts';
import { exitCodeOf, killProcessTree } from './process-tree.ts';
import { badRequest } from './status.ts';

/** The remotecommand channels, as the API server numbers them. */
const Channel = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

const channelPrefix = [Buffer.of(0), Buffer.of(1), Buffer.of(2)];

export const execSubprotocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

export interface ExecRequest {
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Reads `?command=..&command=..&container=..&stdin=..` as the API server does, with its error messages. */
export function parseExecQuery(query: URLSearchParams, podName: string, containers: string[]): ExecRequest {
  const flag = (name: string) => {
    const value = query.get(name);
    if (value === null || value === '' || value === 'false' || value === '0') return false;
    if (value === 'true' || value === '1') return true;
    throw badRequest(`invalid value for ${name}: ${JSON.stringify(value)} (want true or false)`);
  };
  const command = query.getAll('command');
  if (!command.length || !command[0]) throw badRequest('you must specify at least 1 command');
  const request = {
    container: query.get('container') ?? '',
    command,
    stdin: flag('stdin'),
    stdout: flag('stdout'),
    stderr: flag('stderr'),
    tty: flag('tty'),
  };
  if (!request.stdin && !request.stdout && !request.stderr)
    throw badRequest('you must specify at least one of stdin, stdout, stderr');
  if (!request.container) {
    if (containers.length !== 1)
      throw badRequest(
        `a container name must be specified for pod ${podName}, choose one of: [${containers.join(' ')}]`,
      );
    request.container = containers[0]!;
  }
  if (!containers.includes(request.container))
    throw badRequest(`container ${request.container} is not valid for pod ${podName}`);
  return request;
}

/** Picks the newest channel protocol both sides speak; undefined when the client offers neither. */
export function chooseSubprotocol(offered: Iterable<string>): string | undefined {
  const set = new Set(offered);
  return execSubprotocols.find((protocol) => set.has(protocol));
}

export interface ExecSessionOptions {
  /** Stop reading the command's output while this much is queued on the WebSocket. */
  highWaterMark: number;
}

/**
 * Connects a running command to a channel WebSocket: stdin in, stdout/stderr out (paused while the client
 * is behind, so the command blocks on its pipe instead of the emulator buffering), then the exit as a
 * Status on channel 3, exactly as the kubelet reports it.
 */
export function runExecSession(
  ws: WebSocket,
  child: ChildProcess,
  request: ExecRequest,
  options: ExecSessionOptions,
) {
  const lowWaterMark = options.highWaterMark / 4;
  const nudgeGc = createGcNudge();
  const paused = new Set<Readable>();
  let finished = false;
  const afterSend = () => {
    if (!paused.size || ws.bufferedAmount > lowWaterMark) return;
    for (const stream of paused) stream.resume();
    paused.clear();
  };
  const forward = (stream: Readable | null, channel: number, wanted: boolean) => {
    if (!stream) return;
    if (!wanted) return void stream.resume();
    stream.on('data', (chunk: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      // The channel byte and the data as two fragments of one message: no copy of every chunk.
      ws.send(channelPrefix[channel]!, { fin: false });
      ws.send(chunk, { fin: true }, afterSend);
      nudgeGc(chunk.length);
      if (ws.bufferedAmount > options.highWaterMark) {
        stream.pause();
        paused.add(stream);
      }
    });
  };
  // With a tty the runtime merges stderr into stdout; there is no pty here, only the merge.
  forward(child.stdout, Channel.stdout, request.stdout);
  forward(
    child.stderr,
    request.tty ? Channel.stdout : Channel.stderr,
    request.tty ? request.stdout : request.stderr,
  );

  const stdin = child.stdin;
  stdin?.on('error', () => {}); // the command may exit without reading its input: EPIPE is not our failure
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length < 1) return;
    const channel = data[0];
    if (channel === Channel.stdin && stdin && !stdin.writableEnded) {
      if (!stdin.write(data.subarray(1))) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    } else if (
      channel === Channel.close &&
      ws.protocol === execSubprotocols[0] &&
      data[1] === Channel.stdin
    ) {
      stdin?.end();
    }
  });

  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  child.once('close', (code, signal) => {
    finished = true;
    if (ws.readyState !== ws.OPEN) return;
    const exitCode = spawnError ? 127 : exitCodeOf(code, signal);
    if (spawnError)
      ws.send(Buffer.concat([Buffer.of(Channel.stderr), Buffer.from(`exec: ${spawnError.message}\n`)]));
    ws.send(
      Buffer.concat([
        Buffer.of(Channel.status),
        Buffer.from(JSON.stringify(exitStatus(request.command, exitCode))),
      ]),
    );
    ws.close(1000);
  });
  ws.on('close', () => {
    stdin?.end();
    // The client went away first: end the command as the runtime ends an abandoned exec.
    if (!finished && child.pid) killProcessTree(child.pid).catch(() => {}); // the sandbox's close kills what is left
  });
}

export function exitStatus(command: string[], exitCode: number) {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}
