import type { DataOf, EventTypes, Pod } from '../lib/events/index.ts';
import type { DumpPlan } from './annotations.ts';
import type { Capture } from './strategies/context.ts';

type Approved = DataOf<typeof EventTypes.dumpApproved>;

/** kubectl's copy of the whole manifest: large, and the spec is not what the dump's reader needs. */
const leftOut = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

const MESSAGE_CHARS = 256;
/** `password=…`, `token: …`, `Authorization: Bearer …` and the like: the value goes, the name stays. */
const credential =
  /\b((?:pass(?:word|wd)?|secret|token|api[-_]?key|credentials?|authorization)\s*[:=]\s*)(?:bearer\s+|basic\s+)?[^\s,;]+/gi;

/** A container's termination message is whatever it wrote last: bounded, credentials cut out. */
export function scrubbedMessage(message: string): string {
  return message.replace(credential, '$1<redacted>').slice(0, MESSAGE_CHARS);
}

function scrubbed<T>(terminated: T): T {
  const message = (terminated as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? { ...terminated, message: scrubbedMessage(message) } : terminated;
}

type ContainerStatus = NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number];
const scrubbedStatus = (status: ContainerStatus): ContainerStatus => ({
  ...status,
  ...(status.state?.terminated
    ? { state: { ...status.state, terminated: scrubbed(status.state.terminated) } }
    : {}),
  ...(status.lastState?.terminated
    ? { lastState: { ...status.lastState, terminated: scrubbed(status.lastState.terminated) } }
    : {}),
});

/**
 * What is stored beside the dump as `<name>.json`: the pod as it was (labels, annotations, node, every
 * container's status with its last termination), the JVM (version, flags) and how the dump was taken.
 */
export function metadataOf(
  pod: Pod,
  approved: Approved,
  plan: DumpPlan,
  capture: Capture,
  timing: { capturedAt: Date; seconds: number },
): Record<string, unknown> {
  const annotations = Object.fromEntries(
    Object.entries(pod.metadata.annotations ?? {}).filter(([key]) => !leftOut.has(key)),
  );
  const status = pod.status?.containerStatuses?.find((s) => s.name === approved.target.container);
  return {
    dumpId: approved.dumpId,
    reason: approved.reason,
    trigger: approved.trigger,
    mode: approved.mode,
    strategy: plan.strategy,
    dumpDir: plan.dumpDir,
    compression: capture.files.some((file) => file.name.endsWith('.gz')) ? 'gzip' : 'none',
    capturedAt: timing.capturedAt.toISOString(),
    durationSeconds: timing.seconds,
    dumpSeconds: capture.dumpSeconds ?? null,
    jvmReportedSeconds: capture.pauseSeconds ?? null,
    reusedEarlierAttempt: capture.reused ?? false,
    ...(capture.skipped ? { skippedFiles: capture.skipped } : {}),
    pod: {
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
      node: pod.spec.nodeName ?? null,
      phase: pod.status?.phase ?? null,
      labels: pod.metadata.labels ?? {},
      annotations,
      containerStatuses: (pod.status?.containerStatuses ?? []).map(scrubbedStatus),
    },
    container: approved.target.container,
    lastTermination: scrubbed(status?.lastState?.terminated ?? null),
    restartCount: status?.restartCount ?? null,
    jvm: capture.jvm ?? null,
    heap: {
      usedBytes: capture.heapUsedBytes ?? null,
      freeBytesInDumpDir: capture.freeBytes ?? null,
    },
  };
}
