import { PermanentError } from '../lib/errors.ts';
import { DumpFailure, tailOf } from './dump-failure.ts';
import type { PodCommands } from './pod-commands.ts';

export interface JvmProcess {
  pid: number;
  /** The main class or jar `jcmd -l` shows, without the arguments after it (they may hold secrets). */
  mainClass: string;
}

export interface JvmInfo {
  pid: number;
  version: string;
  flags: string;
}

/** `jcmd -l` lists itself too. */
const jcmdItself = /(^|\/)sun\.tools\.jcmd\.JCmd\b/;

/** The JVMs `jcmd -l` lists, without jcmd itself. */
export function parseJcmdList(output: string): JvmProcess[] {
  return output
    .split('\n')
    .map((line) => /^\s*(\d+)\s*(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .filter((match) => !jcmdItself.test(match[2]!))
    .map((match) => ({ pid: Number(match[1]), mainClass: match[2]!.trim().split(/\s+/)[0] ?? '' }));
}

const units: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/**
 * The heap in use from `jcmd GC.heap_info`, which every collector prints differently: G1 "used 3492K",
 * Serial and Parallel one "used" per generation, ZGC "used 8M", Shenandoah "3M used". Everything above
 * the Metaspace line is heap; null when nothing there reads as a size.
 */
export function parseHeapUsed(output: string): number | null {
  const heapPart = output.split(/^\s*Metaspace\b/m)[0] ?? '';
  let total = 0;
  let found = false;
  for (const match of heapPart.matchAll(/\bused (\d+)([BKMG])\b|\b(\d+)([BKMG]) used\b/g)) {
    total += Number(match[1] ?? match[3]) * units[match[2] ?? match[4]!]!;
    found = true;
  }
  return found ? total : null;
}

/** -XX:MaxHeapSize=<bytes> from `jcmd VM.flags`: the ceiling, when the heap in use cannot be read. */
export function maxHeapOf(flags: string): number | null {
  const match = /-XX:MaxHeapSize=(\d+)/.exec(flags);
  return match ? Number(match[1]) : null;
}

export interface JvmCommands {
  /**
   * The JVM to dump: the annotated pid, else the only one `jcmd -l` lists. None → DumpFailure `no-jvm`;
   * several → 422, since only the pod's owner can say which (annotation heapdump.dev/pid).
   */
  find(annotatedPid: number | undefined): Promise<number>;
  info(pid: number): Promise<JvmInfo>;
  /** Bytes of heap in use, or the maximum heap size when jcmd's output cannot be read. */
  heapUsed(pid: number, flags: string): Promise<number | null>;
  /**
   * GC.heap_dump of live objects to `path`; `gzipLevel` makes the JVM compress while it writes. Resolves
   * to the seconds the JVM says writing took (its pause, after the full GC), when it says so.
   */
  heapDump(
    pid: number,
    path: string,
    options: { gzipLevel?: number; timeoutMs: number },
  ): Promise<number | null>;
}

export function createJvmCommands(pod: PodCommands): JvmCommands {
  const jcmd = async (pid: number, command: string[], timeoutMs?: number) => {
    const argv = ['jcmd', String(pid), ...command];
    const result = await pod.run(argv, { timeoutMs });
    if (result.exitCode !== 0) throw DumpFailure.fromExec('jcmd-failed', argv, result);
    // The first line is "<pid>:", the rest what the JVM answered.
    return result.stdout.toString('utf8').replace(/^\d+:\n/, '');
  };

  return {
    async find(annotatedPid) {
      if (annotatedPid !== undefined) return annotatedPid;
      const result = await pod.run(['jcmd', '-l']);
      if (result.exitCode !== 0) {
        const failure = DumpFailure.fromExec('no-jvm', ['jcmd', '-l'], result);
        throw new DumpFailure(
          'no-jvm',
          `cannot list JVMs with jcmd (is it in the image?): ${failure.message}`,
          failure,
        );
      }
      const jvms = parseJcmdList(result.stdout.toString('utf8'));
      if (jvms.length === 0) throw new DumpFailure('no-jvm', 'jcmd -l lists no JVM in the container');
      if (jvms.length > 1)
        throw new PermanentError(
          `the container runs ${jvms.length} JVMs (${jvms.map((jvm) => `${jvm.pid} ${jvm.mainClass}`).join('; ')}); ` +
            'annotate the pod with heapdump.dev/pid to say which one to dump',
        );
      return jvms[0]!.pid;
    },

    async info(pid) {
      const [version, flags] = await Promise.all([jcmd(pid, ['VM.version']), jcmd(pid, ['VM.flags'])]);
      return { pid, version: version.trim(), flags: flags.trim() };
    },

    async heapUsed(pid, flags) {
      return parseHeapUsed(await jcmd(pid, ['GC.heap_info'])) ?? maxHeapOf(flags);
    },

    async heapDump(pid, path, { gzipLevel, timeoutMs }) {
      const options = gzipLevel ? [`-gz=${gzipLevel}`] : [];
      const output = await jcmd(pid, ['GC.heap_dump', ...options, path], timeoutMs);
      // jcmd exits 0 whatever the JVM answered: only this line says the dump was written.
      const created = /Heap dump file created(?: \[\d+ bytes in ([\d.]+) secs\])?/.exec(output);
      if (created) return created[1] ? Number(created[1]) : null;
      const reason = /No space left on device/i.test(output) ? 'no-space' : 'dump-failed';
      throw new DumpFailure(reason, `the JVM did not write ${path}`, { stderr: tailOf(output.trim()) });
    },
  };
}
