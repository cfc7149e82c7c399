import { TransientError } from '../../lib/errors.ts';
import { DumpFailure } from '../dump-failure.ts';
import { checkFiles, isDumpOf } from '../dump-files.ts';
import type { JvmInfo } from '../jvm.ts';
import type { PodFile } from '../pod-commands.ts';
import type { Capture, StrategyContext } from './context.ts';

/**
 * What every live dump does first: look for the file an earlier attempt of this dump wrote. The Broker
 * retries after a timeout or a lost connection while the JVM may have finished, or still be writing;
 * dumping again would pause the JVM twice and fill the volume twice.
 */
export async function earlierAttempt(ctx: StrategyContext): Promise<Capture | undefined> {
  const { pod, plan, dumpId } = ctx;
  const check = await checkFiles(pod, plan.dumpDir, isDumpOf(dumpId), ctx.settleMs);
  if (check.missingDir)
    throw new DumpFailure(
      'no-dump-dir',
      `the dump dir ${plan.dumpDir} does not exist in the container: mount a volume there or set heapdump.dev/dump-dir`,
    );
  if (check.growing.length)
    throw new TransientError(
      `dump ${dumpId} is still being written (${check.growing.map((f) => f.path).join(', ')}); retry later`,
    );
  // Cut short (the JVM or the fetch died mid-write): ours, useless, and in the way of the space check.
  for (const file of check.broken) await pod.remove(file.path);
  if (check.broken.length)
    ctx.log.warn({ removed: check.broken.map((f) => f.path) }, 'removed an incomplete earlier attempt');
  return check.complete.length ? { files: check.complete, reused: true } : undefined;
}

/**
 * Enough room for the dump before the JVM pauses to write it: a full volume is what the seed's local-disk
 * risk was about. The dump of live objects is at most about the heap in use.
 */
export async function ensureSpace(
  ctx: StrategyContext,
  jvm: JvmInfo,
): Promise<{ heapUsedBytes: number | null; freeBytes: number }> {
  const [heapUsedBytes, freeBytes] = await Promise.all([
    ctx.jvm.heapUsed(jvm.pid, jvm.flags),
    ctx.pod.freeBytes(ctx.plan.dumpDir),
  ]);
  const needed = Math.ceil((heapUsedBytes ?? 0) * ctx.spaceFactor);
  if (freeBytes < needed)
    throw new DumpFailure(
      'no-space',
      `${ctx.plan.dumpDir} has ${freeBytes} bytes free; the heap uses ${heapUsedBytes} bytes, ` +
        `so the dump needs about ${needed}: nothing was written`,
    );
  return { heapUsedBytes, freeBytes };
}

/** The JVM when there is exactly one to ask (or an annotated pid), for the metadata and the space check. */
export async function jvmIfAny(ctx: StrategyContext): Promise<JvmInfo | undefined> {
  try {
    return await ctx.jvm.info(await ctx.jvm.find(ctx.plan.pid));
  } catch (error) {
    if (error instanceof TransientError) throw error;
    ctx.log.info({ err: error }, 'no single JVM to describe');
    return undefined;
  }
}

/** Seconds between two instants of the injected clock. */
export const secondsBetween = (start: Date, end: Date) => (end.getTime() - start.getTime()) / 1000;

/** The file a dump command just wrote, checked to be a complete heap dump; a stub is removed. */
export async function verifiedFile(ctx: StrategyContext, name: string): Promise<PodFile[]> {
  const written = await checkFiles(ctx.pod, ctx.plan.dumpDir, (file) => file.name === name, 0);
  if (written.complete.length) return written.complete;
  const path = `${ctx.plan.dumpDir}/${name}`;
  await ctx.pod.remove(path);
  throw new DumpFailure(
    'dump-incomplete',
    `${path} was reported written, but it is not a complete heap dump`,
  );
}
