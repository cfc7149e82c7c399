import type { ExecResult, ExecTarget, Kubernetes } from '../../adapters/kubernetes/index.ts';
import { DumpFailure } from './dump-failure.ts';

/** A file in the dump dir as `find -printf` reports it. */
export interface PodFile {
  name: string;
  path: string;
  bytes: number;
  /** Modification time, seconds since the epoch (with a fraction). */
  mtime: number;
}

export interface PodCommands {
  target: ExecTarget;
  /** Runs argv in the container, bounded by `timeoutMs` (default: the short command timeout). */
  run(argv: readonly string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** The regular files directly in `dir` whose names are safe to carry in events; null when `dir` is missing. */
  listFiles(dir: string): Promise<PodFile[] | null>;
  /** Free bytes for an unprivileged writer on the file system holding `dir`. */
  freeBytes(dir: string): Promise<number>;
  /** The first `head` and last `tail` bytes of a file. */
  edges(path: string, head: number, tail: number): Promise<{ head: Buffer; tail: Buffer }>;
  remove(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

const safeName = /^[A-Za-z0-9._-]+$/;

/**
 * The in-pod file operations the strategies need, as argv for the tools a JDK image has (coreutils, findutils):
 * nothing from a pod or an event ever reaches a shell.
 */
export function createPodCommands(
  kube: Pick<Kubernetes, 'exec'>,
  target: ExecTarget,
  timeoutMs: number,
): PodCommands {
  const run: PodCommands['run'] = (argv, options = {}) =>
    kube.exec(target, argv, { timeoutMs: options.timeoutMs ?? timeoutMs });
  const mustRun = async (code: string, argv: readonly string[]) => {
    const result = await run(argv);
    if (result.exitCode !== 0) throw DumpFailure.fromExec(code, argv, result);
    return result;
  };

  return {
    target,
    run,
    async listFiles(dir) {
      const argv = ['find', dir, '-maxdepth', '1', '-type', 'f', '-printf', '%s\\t%T@\\t%f\\0'];
      const result = await run(argv);
      if (result.exitCode !== 0) {
        if (/No such file or directory/.test(result.stderr)) return null;
        throw DumpFailure.fromExec('list-failed', argv, result);
      }
      return result.stdout
        .toString('utf8')
        .split('\0')
        .filter(Boolean)
        .map((line) => {
          const [bytes, mtime, name = ''] = line.split('\t');
          return {
            name,
            path: `${dir.replace(/\/$/, '')}/${name}`,
            bytes: Number(bytes),
            mtime: Number(mtime),
          };
        })
        .filter((file) => safeName.test(file.name) && Number.isSafeInteger(file.bytes));
    },
    async freeBytes(dir) {
      const argv = ['df', '-P', '-k', dir];
      const result = await mustRun('space-check-failed', argv);
      // POSIX output: a header, then "<fs> <blocks> <used> <available> <capacity> <mounted on>".
      const fields = result.stdout.toString('utf8').trim().split('\n').at(-1)?.trim().split(/\s+/) ?? [];
      const available = Number(fields[3]);
      if (!Number.isFinite(available))
        throw new DumpFailure(
          'space-check-failed',
          `cannot read the free space of ${dir} from df: ${result.stdout}`,
        );
      return available * 1024;
    },
    async edges(path, head, tail) {
      const read = (argv: string[]) => mustRun('read-failed', argv).then((result) => result.stdout);
      const [first, last] = await Promise.all([
        read(['head', '-c', String(head), path]),
        tail > 0 ? read(['tail', '-c', String(tail), path]) : Buffer.alloc(0),
      ]);
      return { head: first, tail: last };
    },
    async remove(path) {
      await mustRun('remove-failed', ['rm', '-f', '--', path]);
    },
    async rename(from, to) {
      await mustRun('rename-failed', ['mv', '-f', '--', from, to]);
    },
  };
}
