import type { PodObject } from './pod-runtime.ts';

/** Does the client ask for server-side printing (`as=Table`), as kubectl's human-readable output does? */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '') && /g=meta\.k8s\.io/.test(accept ?? '');
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

const columnDefinitions = [
  ['Name', 'string', 'name', 0],
  ['Ready', 'string', '', 0],
  ['Status', 'string', '', 0],
  ['Restarts', 'string', '', 0],
  ['Age', 'string', '', 0],
  ['IP', 'string', '', 1],
  ['Node', 'string', '', 1],
  ['Nominated Node', 'string', '', 1],
  ['Readiness Gates', 'string', '', 1],
].map(([name, type, format, priority]) => ({ name, type, format, description: '', priority }));

interface StatusView {
  phase?: string;
  podIP?: string;
  containerStatuses?: {
    ready: boolean;
    restartCount: number;
    state: { waiting?: { reason?: string }; terminated?: { reason?: string; exitCode: number } };
    lastState: { terminated?: { finishedAt?: string } };
  }[];
}

/** The `meta.k8s.io/v1` Table the API server prints pods as (the columns of `kubectl get pods -o wide`). */
export function podTable(
  pods: PodObject[],
  resourceVersion: string,
  include: IncludeObject,
  now = Date.now(),
  withColumns = true,
) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    ...(withColumns ? { columnDefinitions } : {}),
    rows: pods.map((pod) => ({ cells: cellsOf(pod, now), object: objectFor(pod, include) })),
  };
}

function objectFor(pod: PodObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return pod;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod.metadata };
}

function cellsOf(pod: PodObject, now: number): unknown[] {
  const status = pod.status as StatusView;
  const containers = status.containerStatuses ?? [];
  let reason = status.phase ?? 'Unknown';
  for (const container of [...containers].reverse()) {
    if (container.state.waiting?.reason) reason = container.state.waiting.reason;
    else if (container.state.terminated)
      reason = container.state.terminated.reason ?? `ExitCode:${container.state.terminated.exitCode}`;
  }
  const restarts = containers.reduce((sum, container) => sum + container.restartCount, 0);
  const lastRestart = containers
    .map((container) => Date.parse(container.lastState.terminated?.finishedAt ?? ''))
    .filter(Number.isFinite)
    .sort((a, b) => b - a)[0];
  const ready = containers.filter((container) => container.ready).length;
  const created = Date.parse((pod.metadata as { creationTimestamp?: string }).creationTimestamp ?? '');
  return [
    pod.metadata.name,
    `${ready}/${containers.length}`,
    reason,
    lastRestart === undefined ? String(restarts) : `${restarts} (${humanDuration(now - lastRestart)} ago)`,
    humanDuration(now - created),
    status.podIP ?? '<none>',
    (pod.spec as { nodeName?: string }).nodeName ?? '<none>',
    '<none>',
    '<none>',
  ];
}

/** The API server's short ages: `45s`, `3m12s`, `25m`, `5h3m`, `2d4h`, `31d`. */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 ? `${minutes}m${seconds % 60}s` : `${minutes}m`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 ? `${hours}h${minutes % 60}m` : `${hours}h`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 ? `${days}d${hours % 24}h` : `${days}d`;
  return `${days}d`;
}
