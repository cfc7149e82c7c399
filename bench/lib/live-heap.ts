import { join } from 'node:path';
import { startTestKubeEmulator } from '../../test/helpers/kube-emulator.ts';
import { untilFile } from './files.ts';

export const liveHeapTarget = { namespace: 'bench', pod: 'live-heap', container: 'app' };

/**
 * The emulator with one pod whose JVM holds `megabytes` of application-shaped live heap
 * (test/fixtures/java/LiveHeap.java), once the heap is built; `volume` is the pod's /dumps on the host.
 */
export async function startLiveHeap(
  megabytes: number,
  options: { buildTimeoutMs: number; optedIn?: boolean },
) {
  const { namespace, pod, container } = liveHeapTarget;
  const labels = options.optedIn ? ', labels: { heapdump.dev/enabled: "true" }' : '';
  const emulator = await startTestKubeEmulator({
    pods: `
metadata: { name: ${pod}, namespace: ${namespace}${labels} }
spec:
  containers:
    - name: ${container}
      command: [java, -Xms${megabytes * 2}m, -Xmx${megabytes * 2}m, -cp, test/fixtures/java, LiveHeap, "${megabytes}", /dumps/.ready]
      volumeMounts: [{ name: dumps, mountPath: /dumps }]
  volumes: [{ name: dumps, emptyDir: {} }]
`,
  });
  try {
    const volume = emulator.volumePath(namespace, pod, 'dumps')!;
    await untilFile(join(volume, '.ready'), options.buildTimeoutMs);
    return { emulator, volume };
  } catch (error) {
    await emulator.stop();
    throw error;
  }
}
