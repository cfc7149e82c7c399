/**
 * `npm run bench -- e2e [heap megabytes, default 1180] [cap Mbit/s, default 200]`: time to stored for a real
 * JVM heap dump of about 1.4 GB. A JVM holding an application-shaped live heap (LiveHeap.java) runs in the
 * Kubernetes API emulator and is dumped raw with exec-dump's jcmd call. Then the same file is stored twice:
 * - the seed's method: `sftp -l 204800 put` of the raw dump (OpenSSH, 204800 Kbit/s);
 * - ours: upload-dump as deployed (the image's build and start, `npm run build` and `npm start`, in its own
 *   process, configured by env), answering
 *   dump.captured: exec `cat` in the pod → gzip members → sha256 → 200 Mbit/s cap → SFTP.
 * Both go to the same local sshd. `ratio` = oursSeconds / seedMethodSeconds (target ≤ 0.4).
 */
import { readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { type CloudEvent, HTTP } from 'cloudevents';
import { createKubernetes } from '../adapters/kubernetes/index.ts';
import { projectRoot } from '../dev/stack/index.ts';
import { createJvmCommands } from '../functions/exec-dump/jvm.ts';
import { createPodCommands } from '../functions/exec-dump/pod-commands.ts';
import { createEventFactory, EventTypes } from '../functions/lib/events/index.ts';
import { buildFunctions } from '../scripts/build-functions.ts';
import { startFunctionServer } from '../test/helpers/function-server.ts';
import { grantInStore } from '../test/helpers/leases.ts';
import { startTestRedis } from '../test/helpers/redis.ts';
import { disposeSshd, sftpStorageEnv, startSshd } from '../test/helpers/sshd.ts';
import { sha256OfFile } from './lib/files.ts';
import { liveHeapTarget, startLiveHeap } from './lib/live-heap.ts';
import { opensshSftpPut } from './lib/sftp-bench.ts';

const target = liveHeapTarget;
const SEED_LIMIT_KBPS = 204_800;

/** CPU seconds a process has used (user + system), from /proc: the upload is CPU-bound on a shared machine. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident memory of a process, from the kernel's high-water mark. */
function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1]) / 1024;
}

export default async function e2e(args: string[]) {
  const megabytes = Number(args[0] ?? 1180);
  const capMbps = Number(args[1] ?? 200);
  const { emulator, volume } = await startLiveHeap(megabytes, { buildTimeoutMs: 300_000, optedIn: true });
  const [redis, sshd] = await Promise.all([startTestRedis(), startSshd()]);
  let fn: Awaited<ReturnType<typeof startFunctionServer>> | undefined;
  try {
    // The raw dump, exactly as exec-dump's jcmd strategy takes it.
    const pod = createPodCommands(createKubernetes(emulator.kubeConfig('exec-dump')), target, 60_000);
    const jvm = createJvmCommands(pod);
    const pid = await jvm.find(undefined);
    await pod.run(['jcmd', String(pid), 'GC.run']);
    const name = 'bench-e2e.hprof';
    await jvm.heapDump(pid, `/dumps/${name}`, { timeoutMs: 600_000 });
    const hostPath = join(volume, name);
    const rawBytes = statSync(hostPath).size;
    const rawSha256 = await sha256OfFile(hostPath);

    // The seed's method: OpenSSH `sftp -l 204800 put` of the raw dump, as the admin ran it.
    const { seconds: seedMethodSeconds } = await opensshSftpPut(sshd, hostPath, 'seed.hprof', {
      workDir: join(volume, '..'),
      limitKbps: SEED_LIMIT_KBPS,
    });

    fn = await startFunctionServer('upload-dump', {
      bundle: await buildFunctions(join(projectRoot, '.heapdump', 'bench', 'build')),
      env: {
        ...redis.env,
        KUBECONFIG: await emulator.kubeconfigFile('upload-dump'),
        ...sftpStorageEnv(sshd),
        HEAPDUMP_STORAGE_PREFIX: 'heapdumps',
        UPLOAD_RATE_MBPS: String(capMbps),
      },
    });
    const uid = emulator.pod(target.namespace, target.pod)!.metadata.uid;
    const dumpId = `bench-e2e-${Date.now()}`;
    // As decide-dump grants them: upload-dump acts only on leases the store holds for this dump.
    const store = redis.store({ prefix: 'heapdump:' });
    const leases = await grantInStore(store, dumpId, uid, target.container);
    const files = [{ path: `/dumps/${name}`, bytes: rawBytes }];
    await store.records.updateDump(dumpId, { capturedFiles: files }); // as exec-dump records its capture
    const captured = createEventFactory('exec-dump')(EventTypes.dumpCaptured, {
      dumpId,
      target: { ...target, uid },
      mode: 'live',
      files,
      metadata: { bench: 'e2e' },
      leases,
    });
    const message = HTTP.binary(captured);
    const [loadAverage1m] = loadavg();
    const cpuBefore = cpuSeconds(fn.pid);
    const started = performance.now();
    const response = await fetch(fn.url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
      signal: AbortSignal.timeout(900_000),
    });
    const body = await response.text();
    const oursSeconds = (performance.now() - started) / 1000;
    const oursCpuSeconds = cpuSeconds(fn.pid) - cpuBefore;
    const reply = HTTP.toEvent({ headers: Object.fromEntries(response.headers), body }) as CloudEvent<{
      storedBytes: number;
      rawBytes: number;
      rawSha256?: string;
    }>;
    if (reply.type !== EventTypes.dumpUploaded) {
      throw new Error(`upload-dump answered ${response.status} ${reply.type}: ${body.slice(0, 500)}`);
    }
    const uploaded = reply.data!;
    if (uploaded.rawBytes !== rawBytes || uploaded.rawSha256 !== rawSha256) {
      throw new Error('the stored dump does not hold the raw dump');
    }
    return {
      rawBytes,
      storedBytes: uploaded.storedBytes,
      seedMethodSeconds,
      oursSeconds,
      ratio: oursSeconds / seedMethodSeconds,
      targetRatio: 0.4,
      compression: rawBytes / uploaded.storedBytes,
      seedCapKbps: SEED_LIMIT_KBPS,
      capMbps,
      oursCpuSeconds,
      oursPeakRssMiB: peakRssMiB(fn.pid),
      loadAverage1m: loadAverage1m ?? null,
    };
  } finally {
    await fn?.stop();
    await disposeSshd(sshd);
    await redis.stop();
    await emulator.stop();
  }
}
