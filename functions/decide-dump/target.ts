import { PermanentError } from '../lib/errors.ts';
import type { PartialTarget, Pod } from '../lib/events/index.ts';

export const ENABLED_LABEL = 'heapdump.dev/enabled';
export const CONTAINER_ANNOTATION = 'heapdump.dev/container';

/** The one Kubernetes call decide-dump makes (adapters/kubernetes): the pod, or null when it does not exist. */
export interface PodSource {
  getPod(namespace: string, name: string): Promise<Pod | null>;
}

export const isOptedIn = (pod: Pod) => pod.metadata.labels?.[ENABLED_LABEL] === 'true';

export function partialTarget(pod: Pod, container?: string): PartialTarget {
  return {
    namespace: pod.metadata.namespace,
    pod: pod.metadata.name,
    uid: pod.metadata.uid,
    ...(container ? { container } : {}),
    ...(pod.spec.nodeName ? { node: pod.spec.nodeName } : {}),
  };
}

export interface ContainerChoice {
  /** A container the request names: an explicit manual request wins over the annotation. */
  requested?: string;
  /** A container the trigger suggests (the alert's `container` label): the annotation wins over it. */
  suggested?: string;
  /** A pod update may stand for any container; the one that restarted is picked later. */
  anyRestarted?: boolean;
}

/** The containers a request may be about; a name the pod does not have is a 422 (never retried). */
export function candidateContainers(pod: Pod, choice: ContainerChoice): string[] {
  const names = pod.spec.containers.map((container) => container.name);
  const where = `pod ${pod.metadata.namespace}/${pod.metadata.name} has container${names.length > 1 ? 's' : ''} ${names.join(', ')}`;
  const existing = (name: string, from: string) => {
    if (!names.includes(name))
      throw new PermanentError(`${from} names container "${name}", but the ${where}`);
    return [name];
  };
  const annotation = pod.metadata.annotations?.[CONTAINER_ANNOTATION];
  if (choice.requested) return existing(choice.requested, 'the request');
  if (annotation) return existing(annotation, `annotation ${CONTAINER_ANNOTATION}`);
  if (choice.suggested) return existing(choice.suggested, 'the alert');
  if (names.length === 1 || choice.anyRestarted) return names;
  throw new PermanentError(
    `the ${where}; annotate it with ${CONTAINER_ANNOTATION} or name the container in the request`,
  );
}

/** Why a dump cannot be taken from this pod now, or null. A live dump needs a running JVM. */
export function notRunning(pod: Pod, container: string | undefined, mode: 'live' | 'collect'): string | null {
  if (pod.metadata.deletionTimestamp) return 'the pod is being deleted';
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return `the pod has ended (phase ${phase})`;
  if (mode === 'collect' || !container) return null;
  const status = pod.status?.containerStatuses?.find((candidate) => candidate.name === container);
  if (status && !status.state?.running) {
    const waiting = status.state?.waiting?.reason;
    return `container ${container} is not running${waiting ? ` (${waiting})` : ''}`;
  }
  return null;
}
