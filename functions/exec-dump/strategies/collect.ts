import { TransientError } from '../../lib/errors.ts';
import { DumpFailure } from '../dump-failure.ts';
import { checkFiles, isJvmWrittenDump } from '../dump-files.ts';
import type { Strategy } from './context.ts';
import { jvmIfAny } from './live.ts';

/**
 * The dumps a JVM wrote itself with -XX:+HeapDumpOnOutOfMemoryError before it died; the volume kept them
 * across the restart. Only files that stopped growing and end as a heap dump ends are taken.
 */
export const collectWritten: Strategy = async (ctx) => {
  const { plan } = ctx;
  const check = await checkFiles(ctx.pod, plan.dumpDir, isJvmWrittenDump, ctx.settleMs);
  if (check.missingDir)
    throw new DumpFailure('no-dump-dir', `the dump dir ${plan.dumpDir} does not exist in the container`);
  const skipped = check.broken.map((file) => file.name);
  if (!check.complete.length) {
    if (check.growing.length)
      throw new TransientError(
        `${check.growing.map((f) => f.path).join(', ')} is still being written; retry later`,
      );
    if (check.broken.length)
      throw new DumpFailure(
        'incomplete-dump',
        `${plan.dumpDir} holds only incomplete dumps: ${skipped.join(', ')}`,
        {
          fileKept: true,
        },
      );
    throw new DumpFailure(
      'no-dump-file',
      `no .hprof in ${plan.dumpDir}: is the JVM started with -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=${plan.dumpDir}?`,
    );
  }
  // The JVM running now is the restarted one: same image and flags as the one that wrote the dump.
  const jvm = await jvmIfAny(ctx);
  return { files: check.complete, jvm, ...(skipped.length ? { skipped } : {}) };
};
