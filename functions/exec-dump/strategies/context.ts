import type { Logger } from '../../lib/log.ts';
import type { DumpPlan } from '../annotations.ts';
import type { JvmCommands, JvmInfo } from '../jvm.ts';
import type { PodCommands, PodFile } from '../pod-commands.ts';

export interface StrategyContext {
  pod: PodCommands;
  jvm: JvmCommands;
  plan: DumpPlan;
  dumpId: string;
  now: () => Date;
  /** How long a file must keep its size to count as complete. */
  settleMs: number;
  /** The bound on the dump itself (jcmd GC.heap_dump, the in-pod fetch). */
  dumpTimeoutMs: number;
  /** Free space needed in the dump dir, as a multiple of the heap in use. */
  spaceFactor: number;
  log: Logger;
}

/** What a strategy leaves in the pod and what it learnt on the way (it goes into the dump's metadata). */
export interface Capture {
  files: PodFile[];
  jvm?: JvmInfo;
  heapUsedBytes?: number | null;
  freeBytes?: number;
  /** Wall time of the dump command itself: the JVM's pause for jcmd, plus transfer for http. */
  dumpSeconds?: number;
  /** What the JVM reports for writing the dump (jcmd only). */
  pauseSeconds?: number | null;
  /** An earlier attempt of this dump had already written the file: nothing was dumped again. */
  reused?: boolean;
  /** Files that were left aside: cut short or not heap dumps. */
  skipped?: string[];
}

export type Strategy = (ctx: StrategyContext) => Promise<Capture>;
