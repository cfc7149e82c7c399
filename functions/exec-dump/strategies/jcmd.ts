import { DumpFailure } from '../dump-failure.ts';
import { dumpFileName } from '../dump-files.ts';
import type { Strategy } from './context.ts';
import { earlierAttempt, ensureSpace, secondsBetween, verifiedFile } from './live.ts';

/** `jcmd <pid> GC.heap_dump <dir>/<ts>_<dumpId>.hprof` on the running JVM: raw unless gzip was asked for. */
export const captureWithJcmd: Strategy = async (ctx) => {
  const earlier = await earlierAttempt(ctx);
  if (earlier) return earlier;
  const { plan, pod, jvm } = ctx;
  const info = await jvm.info(await jvm.find(plan.pid));
  const space = await ensureSpace(ctx, info);

  const name = dumpFileName(ctx.dumpId, ctx.now(), plan.gzipLevel !== undefined);
  const path = `${plan.dumpDir}/${name}`;
  const started = ctx.now();
  let pauseSeconds: number | null;
  try {
    pauseSeconds = await jvm.heapDump(info.pid, path, {
      gzipLevel: plan.gzipLevel,
      timeoutMs: ctx.dumpTimeoutMs,
    });
  } catch (error) {
    // A timeout leaves the JVM writing: the file stays for the retry. A refusal leaves a stub at most.
    if (error instanceof DumpFailure) await pod.remove(path);
    throw error;
  }
  const dumpSeconds = secondsBetween(started, ctx.now());
  return { files: await verifiedFile(ctx, name), jvm: info, ...space, dumpSeconds, pauseSeconds };
};
