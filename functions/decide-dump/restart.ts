import type { Store } from '../../adapters/redis-store/index.ts';
import type { Pod } from '../lib/events/index.ts';

export interface Restart {
  container: string;
  /** Why the container ended (`OOMKilled`, `Error`, `exit 137`): the dump's reason. */
  reason: string;
}

type TerminatedStatus = { restartCount: number; lastState?: { terminated?: unknown } };

/** Only a container whose last run ended can have restarted; every other update is skipped without a call. */
export const mayHaveRestarted = (status: TerminatedStatus) =>
  status.restartCount > 0 && Boolean(status.lastState?.terminated);

/**
 * Finds the container among `candidates` that really restarted: its `restartCount` is above the one
 * recorded, or, with none recorded yet (the source does not announce pods that existed before it
 * started), its last run ended within `windowMs`. Every candidate's count is recorded. `observer` is the
 * event's identity, so a retried event is answered as the first time.
 */
export async function findRestart(
  deps: { records: Store['records']; now: () => number; windowMs: number },
  pod: Pod,
  candidates: string[],
  observer: string,
): Promise<Restart | null> {
  let found: Restart | null = null;
  for (const name of candidates) {
    const status = pod.status?.containerStatuses?.find((candidate) => candidate.name === name);
    if (!status || !mayHaveRestarted(status)) continue;
    const previous = await deps.records.observeRestartCount(
      pod.metadata.uid,
      name,
      status.restartCount,
      observer,
    );
    const terminated = status.lastState!.terminated!;
    const counted =
      previous === null
        ? endedWithin(terminated.finishedAt, deps.now(), deps.windowMs)
        : status.restartCount > previous;
    if (counted && !found) {
      found = { container: name, reason: terminated.reason ?? `exit ${terminated.exitCode}` };
    }
  }
  return found;
}

function endedWithin(finishedAt: string | null | undefined, now: number, windowMs: number): boolean {
  const ended = finishedAt ? Date.parse(finishedAt) : Number.NaN;
  return Number.isFinite(ended) && now - ended <= windowMs;
}
