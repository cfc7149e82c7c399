import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Trigger } from '../../dev/broker/index.ts';
import { type DevStack, type DevStackOptions, startDevStack } from '../../dev/stack/index.ts';

export type E2eStack = DevStack & { workDir: string };

/**
 * The dev stack for a test: its own directory (storage, env file, trace), no PingSource timer (a test
 * ticks when it wants), the event display on, restarts after 200 ms, and Trigger backoffs scaled by
 * `backoffScale` (retry counts and policies stay as eventing/ has them).
 */
export async function startE2eStack(
  options: DevStackOptions & { backoffScale?: number } = {},
): Promise<E2eStack> {
  const workDir = await mkdtemp(join(tmpdir(), 'heapdump-e2e-'));
  const { backoffScale = 0.05, ...rest } = options;
  try {
    const stack = await startDevStack({
      workDir,
      pingIntervalMs: 0,
      eventDisplay: true,
      restartBackoffMs: 200,
      adjustTriggers: (triggers) => triggers.map((t) => scaledBackoff(t, backoffScale)),
      ...rest,
    });
    return {
      ...stack,
      workDir,
      async stop() {
        await stack.stop();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

function scaledBackoff(trigger: Trigger, scale: number): Trigger {
  const delay = trigger.delivery.backoffDelayMs;
  if (delay === undefined) return trigger;
  return {
    ...trigger,
    delivery: { ...trigger.delivery, backoffDelayMs: Math.max(10, Math.round(delay * scale)) },
  };
}

/** An opted-in pod with one small JVM holding `heapMiB` of live heap, and a /dumps volume. */
export function jvmPod(namespace: string, name: string, heapMiB: number, maxHeapMiB = 64): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: { heapdump.dev/enabled: "true" }
spec:
  containers:
    - name: app
      command: [java, -Xmx${maxHeapMiB}m, -Xss256k, -XX:+UseSerialGC, -XX:TieredStopAtLevel=1, -cp, test/fixtures/java, Hog, "${heapMiB}", "3600000"]
      volumeMounts: [{ name: dumps, mountPath: /dumps }]
  volumes: [{ name: dumps, emptyDir: {} }]
---
`;
}
