import { DumpFailure } from '../dump-failure.ts';
import { dumpFileName, formatOf } from '../dump-files.ts';
import type { PodCommands } from '../pod-commands.ts';
import type { Strategy } from './context.ts';
import { earlierAttempt, ensureSpace, jvmIfAny, secondsBetween, verifiedFile } from './live.ts';

/** Exit codes of a command the container does not have (the runtime's 127, runc's 126). */
const notInImage = (exitCode: number, stderr: string) =>
  exitCode === 127 || (exitCode === 126 && /not found|no such file/i.test(stderr));

/**
 * Fetches `url` inside the pod to `path` with curl, or wget when the image has no curl. The endpoint is on
 * the pod's loopback, so the dump never crosses the network before upload-dump streams it.
 */
async function fetchInPod(pod: PodCommands, url: string, path: string, timeoutMs: number) {
  // The tool's own limit is a little shorter than the exec's, so it ends cleanly and says why.
  const seconds = String(Math.max(1, Math.floor(timeoutMs / 1000) - 2));
  const tools = [
    ['curl', '--silent', '--show-error', '--fail', '--max-time', seconds, '--output', path, url],
    ['wget', '-q', '-T', seconds, '-O', path, url],
  ];
  for (const argv of tools) {
    const result = await pod.run(argv, { timeoutMs });
    if (notInImage(result.exitCode, result.stderr)) continue;
    if (result.exitCode === 0) return;
    await pod.remove(path);
    throw DumpFailure.fromExec('fetch-failed', argv, result);
  }
  throw new DumpFailure(
    'no-fetch-tool',
    'the container has neither curl nor wget to fetch the heap dump endpoint',
  );
}

/**
 * An in-pod endpoint such as Spring Boot's /actuator/heapdump, fetched on the pod's loopback into the dump
 * dir: to `<name>.part` first, renamed once complete, so a cut transfer is never taken for a dump.
 */
export const captureOverHttp: Strategy = async (ctx) => {
  const earlier = await earlierAttempt(ctx);
  if (earlier) return earlier;
  const { plan, pod } = ctx;
  // jcmd may be missing (a JRE image): then the heap in use is unknown and the space check is skipped.
  const jvm = await jvmIfAny(ctx);
  const space = jvm ? await ensureSpace(ctx, jvm) : {};

  const name = dumpFileName(ctx.dumpId, ctx.now(), false);
  const part = `${plan.dumpDir}/${name}.part`;
  const url = `http://127.0.0.1:${plan.http.port}${plan.http.path}`;
  const started = ctx.now();
  await fetchInPod(pod, url, part, ctx.dumpTimeoutMs);
  const dumpSeconds = secondsBetween(started, ctx.now());

  const format = formatOf((await pod.edges(part, 19, 0)).head);
  if (format === 'unknown') {
    await pod.remove(part);
    throw new DumpFailure('not-a-heap-dump', `${url} answered with something that is neither HPROF nor gzip`);
  }
  const final = `${name}${format === 'gzip' ? '.gz' : ''}`;
  await pod.rename(part, `${plan.dumpDir}/${final}`);
  const files = await verifiedFile(ctx, final);
  return { files, jvm, ...space, dumpSeconds };
};
