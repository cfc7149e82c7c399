import { posix } from 'node:path';
import type { ExecTarget, Kubernetes } from '../../adapters/kubernetes/index.ts';
import { DUMP_DIR_ANNOTATION, dumpDirSchema } from '../lib/dump-dir.ts';
import { PermanentError, TransientError } from '../lib/errors.ts';
import type { DumpFile, Target } from '../lib/events/index.ts';

/** The dump file cannot be read as it is; `fileKept` says whether it is still in the pod. */
export class DumpSourceError extends PermanentError {
  constructor(
    readonly reason: string,
    message: string,
    readonly fileKept: boolean,
  ) {
    super(message);
  }
}

export interface PodFilesOptions {
  /** Dump directory of a pod without the annotation. */
  defaultDumpDir: string;
  /** Per small exec (stat, rm). */
  execTimeoutMs: number;
  /** How much of the dump may wait in memory before the exec WebSocket is paused. */
  highWaterMark?: number;
}

/** The dump files inside the pod: checked before reading, streamed out through exec, removed when stored. */
export function createPodFiles(kube: Kubernetes, options: PodFilesOptions) {
  const execTarget = (target: Target): ExecTarget => ({
    namespace: target.namespace,
    pod: target.pod,
    container: target.container,
  });
  const where = (target: Target, file: DumpFile) =>
    `${file.path} in ${target.namespace}/${target.pod}/${target.container}`;

  /** The pod the dump was taken in, still running under the same uid; its dump directory. */
  async function dumpDirOf(target: Target): Promise<string> {
    const pod = await kube.getPod(target.namespace, target.pod);
    if (!pod) {
      throw new DumpSourceError('pod-gone', `pod ${target.namespace}/${target.pod} no longer exists`, false);
    }
    if (pod.metadata.uid !== target.uid) {
      throw new DumpSourceError(
        'pod-replaced',
        `pod ${target.namespace}/${target.pod} was replaced (uid ${pod.metadata.uid}, the dump was taken in ${target.uid})`,
        false,
      );
    }
    const dir = pod.metadata.annotations?.[DUMP_DIR_ANNOTATION] ?? options.defaultDumpDir;
    const parsed = dumpDirSchema.safeParse(dir);
    if (!parsed.success) {
      throw new DumpSourceError(
        'bad-dump-dir',
        `annotation ${DUMP_DIR_ANNOTATION}=${JSON.stringify(dir.slice(0, 200))} ${parsed.error.issues[0]?.message}`,
        true,
      );
    }
    return posix.normalize(parsed.data);
  }

  /**
   * Refuses a file outside the pod's dump directory (the event names it, so it is not trusted to point
   * anywhere else), a symlink, or one whose size is not what exec-dump reported.
   */
  async function check(target: Target, file: DumpFile, dumpDir: string): Promise<void> {
    if (posix.dirname(file.path) !== dumpDir) {
      throw new DumpSourceError(
        'outside-dump-dir',
        `${file.path} is not a file in the pod's dump directory ${dumpDir}; refusing to read it`,
        true,
      );
    }
    const { exitCode, stdout, stderr } = await kube.exec(
      execTarget(target),
      ['stat', '-c', '%s %F', '--', file.path],
      { timeoutMs: options.execTimeoutMs, maxStdoutBytes: 4096 },
    );
    if (exitCode !== 0) {
      const missing = /no such file/i.test(stderr);
      throw new DumpSourceError(
        missing ? 'source-missing' : 'source-unreadable',
        `cannot stat ${where(target, file)} (exit ${exitCode}): ${stderr.trim().slice(0, 500)}`,
        !missing,
      );
    }
    const [size, ...kind] = stdout.toString('utf8').trim().split(' ');
    if (!/^regular/.test(kind.join(' '))) {
      throw new DumpSourceError(
        'not-a-file',
        `${where(target, file)} is a ${kind.join(' ')}, not a regular file`,
        true,
      );
    }
    if (Number(size) !== file.bytes) {
      throw new DumpSourceError(
        'source-changed',
        `${where(target, file)} holds ${size} bytes, but ${file.bytes} were captured; it changed since`,
        true,
      );
    }
  }

  /** The file from byte `offset` on (`tail -c +N` to resume), with backpressure down to the WebSocket. */
  async function* read(target: Target, file: DumpFile, offset: number): AsyncGenerator<Buffer> {
    const argv = offset === 0 ? ['cat', '--', file.path] : ['tail', '-c', `+${offset + 1}`, '--', file.path];
    const stream = kube.execStream(execTarget(target), argv, { highWaterMark: options.highWaterMark });
    try {
      for await (const chunk of stream.stdout) yield chunk as Buffer;
      const end = await stream.done;
      if (end.exitCode !== 0) {
        const missing = /no such file/i.test(end.stderr);
        throw new DumpSourceError(
          missing ? 'source-missing' : 'source-unreadable',
          `${argv[0]} ${where(target, file)} exited with ${end.exitCode}: ${end.stderr.trim().slice(0, 500)}`,
          !missing,
        );
      }
    } finally {
      // A slice that ends early stops reading: close the exec so the command in the pod ends too.
      stream.abort(new TransientError(`reading ${where(target, file)} stopped`));
    }
  }

  /** Deletes a stored dump in the pod, unless the pod was replaced (a new pod may reuse the path). */
  async function remove(target: Target, file: DumpFile): Promise<{ removed: boolean; detail?: string }> {
    const pod = await kube.getPod(target.namespace, target.pod);
    if (pod?.metadata.uid !== target.uid)
      return { removed: false, detail: 'the pod is gone or was replaced' };
    const { exitCode, stderr } = await kube.exec(execTarget(target), ['rm', '-f', '--', file.path], {
      timeoutMs: options.execTimeoutMs,
      maxStdoutBytes: 4096,
    });
    return exitCode === 0 ? { removed: true } : { removed: false, detail: stderr.trim().slice(0, 500) };
  }

  return { dumpDirOf, check, read, remove };
}
export type PodFiles = ReturnType<typeof createPodFiles>;
