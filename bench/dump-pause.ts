/**
 * `npm run bench -- dump-pause [megabytes, default 1024] [gzip level, default 1]`: a JVM holding about 1 GB of
 * application-shaped live heap (test/fixtures/java/LiveHeap.java) in the Kubernetes API emulator, dumped
 * through the exec API with exactly the jcmd call exec-dump makes: raw, then with `-gz`. The pause (the JVM
 * is stopped while it writes) is the figure behind writing raw by default and compressing during upload.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createKubernetes } from '../adapters/kubernetes/index.ts';
import { createJvmCommands } from '../functions/exec-dump/jvm.ts';
import { createPodCommands } from '../functions/exec-dump/pod-commands.ts';
import { liveHeapTarget, startLiveHeap } from './lib/live-heap.ts';

const target = liveHeapTarget;

export default async function dumpPause(args: string[]) {
  const megabytes = Number(args[0] ?? 1024);
  const gzipLevel = Number(args[1] ?? 1);
  const { emulator, volume } = await startLiveHeap(megabytes, { buildTimeoutMs: 120_000 });
  try {
    const pod = createPodCommands(createKubernetes(emulator.kubeConfig('exec-dump')), target, 60_000);
    const jvm = createJvmCommands(pod);
    const pid = await jvm.find(undefined);
    await pod.run(['jcmd', String(pid), 'GC.run']); // what is left is live: the heap the dumps will hold
    const info = await jvm.info(pid);
    const heapBytes = await jvm.heapUsed(pid, info.flags);

    const dump = async (name: string, level?: number) => {
      const started = performance.now();
      const pauseSeconds = await jvm.heapDump(pid, `/dumps/${name}`, {
        gzipLevel: level,
        timeoutMs: 600_000,
      });
      const seconds = (performance.now() - started) / 1000;
      const [file] = ((await pod.listFiles('/dumps')) ?? []).filter((f) => f.name === name);
      await rm(join(volume, name)); // one dump at a time on the disk
      return { seconds, pauseSeconds, bytes: file?.bytes ?? Number.NaN };
    };
    const raw = await dump('raw.hprof');
    const gz = await dump('gz.hprof.gz', gzipLevel);
    return {
      heapBytes,
      rawSeconds: raw.seconds,
      rawBytes: raw.bytes,
      gzSeconds: gz.seconds,
      gzBytes: gz.bytes,
      gzipLevel,
      rawPauseSecondsJvm: raw.pauseSeconds,
      gzPauseSecondsJvm: gz.pauseSeconds,
      gzOverRawSeconds: gz.seconds / raw.seconds,
      rawOverGzBytes: raw.bytes / gz.bytes,
      rawBytesOverHeap: heapBytes ? raw.bytes / heapBytes : null,
    };
  } finally {
    await emulator.stop();
  }
}
