import type { CloudEvent } from 'cloudevents';
import { z } from 'zod';
import type { GrantedLease, LeaseClaim, Store } from '../../adapters/redis-store/index.ts';
import {
  type BuildOptions,
  DumpApproved,
  type EventFactory,
  EventTypes,
  type Lease,
  type SkipReason,
  subjectOf,
  Target,
  Trigger,
} from '../lib/events/index.ts';
import type { Logger } from '../lib/log.ts';
import { isOptedIn, type PodSource } from './target.ts';

/** What an approval needs; queued as JSON and validated again when it leaves the queue. */
export const Decision = z.object({
  target: Target,
  mode: DumpApproved.shape.mode,
  reason: z.string().max(256),
  trigger: Trigger,
  force: z.boolean(),
  traceparent: z.string().max(128).optional(),
});
export type Decision = z.infer<typeof Decision>;

export interface TokenDeps {
  store: Store;
  /** A queued request's pod is read again when it is served: it may be gone, replaced or opted out. */
  pods: PodSource;
  events: EventFactory;
  uuid: () => string;
  now: () => number;
  log: Logger;
}

/** Serving the queue stops after this many skipped heads; the next release or sweep goes on. */
const MAX_SKIPS_PER_REQUEST = 50;

const claims = (uuid: () => string): LeaseClaim[] => [
  { pool: 'dump', leaseId: uuid() },
  { pool: 'upload', leaseId: uuid() },
];
const asLeases = (granted: GrantedLease[]): Lease[] =>
  granted.map(({ pool, leaseId, fence }) => ({ pool, leaseId, fence }));

/**
 * Takes a dump and an upload token (both or neither) and approves, unless the container is being dumped
 * already; with no tokens free, queues the request (FIFO, once per container) and defers. Leases taken before a failure are given back at once, since the
 * Broker's retry will take new ones.
 */
export async function approveOrQueue(
  deps: TokenDeps,
  decision: Decision,
  reply: BuildOptions,
): Promise<CloudEvent<unknown>> {
  const { store, events, uuid, now } = deps;
  const dumpId = uuid();
  const target = subjectOf(decision.target);
  const acquired = await store.pools.acquire(claims(uuid), { dumpId, target });
  const record = { target, mode: decision.mode, reason: decision.reason };
  if (acquired.ok) {
    const leases = asLeases(acquired.leases);
    const inFlight = await withLeasesReturnedOnFailure(store, leases, async () => {
      const other = await bindContainer(store, decision, dumpId, leases);
      if (other) await store.pools.release(leases);
      else await store.records.updateDump(dumpId, { ...record, state: 'approved', approvedAt: now() });
      return other;
    });
    if (!inFlight) return approvedEvent(events, dumpId, decision, leases, reply);
    const detail = `dump ${inFlight} of this container is in progress`;
    return events(EventTypes.dumpSkipped, { target: decision.target, reason: 'in-progress', detail }, reply);
  }
  const queued = await store.queue.enqueue({
    dumpId,
    uid: decision.target.uid,
    container: decision.target.container,
    holder: target,
    payload: decision,
  });
  if (!queued.added) {
    return events(
      EventTypes.dumpSkipped,
      {
        target: decision.target,
        reason: 'already-queued',
        detail: `dump ${queued.dumpId} for this container waits at position ${queued.position}`,
      },
      reply,
    );
  }
  await store.records.updateDump(dumpId, { ...record, state: 'deferred', deferredAt: now() });
  return events(
    EventTypes.dumpDeferred,
    { dumpId, target: decision.target, mode: decision.mode, position: queued.position },
    reply,
  );
}

/**
 * Serves the head of the queue when tokens are free. The switches (and whether the container is being
 * dumped already) are checked again, since they may have changed while the request waited: a skipped head
 * gives its tokens back and the next one is tried. One
 * reply carries one event, which is enough, as every release triggers one more call.
 */
export async function serveQueue(deps: TokenDeps): Promise<CloudEvent<unknown> | undefined> {
  const { store, events, uuid, now, log } = deps;
  let firstSkip: CloudEvent<unknown> | undefined;
  for (let skips = 0; skips < MAX_SKIPS_PER_REQUEST; skips++) {
    const popped = await store.queue.popIfAvailable(claims(uuid));
    if (!popped.ok) return firstSkip;
    const leases = asLeases(popped.leases);
    const parsed = Decision.safeParse(popped.payload);
    if (!parsed.success) {
      log.error({ dumpId: popped.dumpId }, 'dropped a queued request that is not valid');
      await store.pools.release(leases);
      continue;
    }
    const decision = parsed.data;
    // Ids follow the dump, so a retried release that serves another head never repeats an id.
    const reply = (outcome: string) => ({
      id: `${popped.dumpId}:${outcome}`,
      traceparent: decision.traceparent,
    });
    const skip = await withLeasesReturnedOnFailure(store, leases, async () => {
      const reason =
        (await stillSkipped(deps, decision)) ??
        ((await bindContainer(store, decision, popped.dumpId, leases)) ? 'in-progress' : null);
      if (!reason) {
        await store.records.updateDump(popped.dumpId, { state: 'approved', approvedAt: now() });
        return null;
      }
      await store.pools.release(leases);
      await store.records.updateDump(popped.dumpId, {
        state: 'skipped',
        skipReason: reason,
        skippedAt: now(),
      });
      return reason;
    });
    if (!skip) return approvedEvent(events, popped.dumpId, decision, leases, reply('approved'));
    log.info({ dumpId: popped.dumpId, reason: skip }, 'queued request no longer wanted');
    firstSkip ??= events(
      EventTypes.dumpSkipped,
      { target: decision.target, reason: skip, detail: `queued dump ${popped.dumpId} was not served` },
      reply('skipped'),
    );
  }
  return firstSkip;
}

async function stillSkipped(
  { store, pods }: Pick<TokenDeps, 'store' | 'pods'>,
  decision: Decision,
): Promise<z.infer<typeof SkipReason> | null> {
  if (!(await store.switches.isGlobalOn())) return 'disabled';
  const { namespace, pod: name, uid } = decision.target;
  const pod = await pods.getPod(namespace, name);
  if (!pod || pod.metadata.uid !== uid) return 'not-found';
  if (!isOptedIn(pod)) return 'not-opted-in';
  if (decision.force) return null;
  const dumped = await store.switches.dumpedBy(decision.target.uid, decision.target.container);
  return dumped ? 'already-dumped' : null;
}

/** One dump per container at a time, even with tokens to spare: returns the dump already in flight. */
function bindContainer(store: Store, decision: Decision, dumpId: string, leases: Lease[]) {
  const dumpLease = leases.find((lease) => lease.pool === 'dump')!;
  return store.pools.bindContainer(decision.target.uid, decision.target.container, dumpId, dumpLease);
}

function approvedEvent(
  events: EventFactory,
  dumpId: string,
  decision: Decision,
  leases: Lease[],
  reply: BuildOptions,
) {
  const { target, mode, reason, trigger } = decision;
  return events(EventTypes.dumpApproved, { dumpId, target, mode, reason, trigger, leases }, reply);
}

async function withLeasesReturnedOnFailure<T>(
  store: Store,
  leases: Lease[],
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    await store.pools.release(leases).catch(() => undefined);
    throw error;
  }
}
