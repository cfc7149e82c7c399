import type { CloudEvent } from 'cloudevents';
import type { Store } from '../../adapters/redis-store/index.ts';
import {
  type AnyCloudEvent,
  type EventFactory,
  EventTypes,
  type PoolName,
  poolName,
} from '../lib/events/index.ts';
import type { PostToSink } from '../lib/sink-poster.ts';

export interface Announcement {
  /** The event that gave the tokens back; token.released continues its trace and derives its id from it. */
  cause: AnyCloudEvent;
  traceparent?: string;
  /** True when this very handling freed a token (a release or a reclaim). */
  freed: boolean;
  /** The leases it names: the ones given back. */
  leases: Array<{ pool: PoolName; leaseId: string }>;
  reason: 'released' | 'reclaimed';
}

/**
 * Posts token.released so decide-dump serves its queue. It is posted when this handling freed a token, and
 * also when it freed nothing but the queue could move now: that is the retry of an attempt that freed
 * tokens and then failed to post (the release itself is idempotent, so the retry finds nothing left to
 * free). Since the id is derived from the cause, that retry posts the same event again.
 */
export function createAnnouncer(deps: { store: Store; events: EventFactory; postToSink: PostToSink }) {
  const { store, events, postToSink } = deps;

  /** Someone waits and every pool has a live token to spare (the queue head takes one from each). */
  async function queueCanMove(): Promise<boolean> {
    if ((await store.queue.length()) === 0) return false;
    const room = await Promise.all(
      poolName.options.map(async (pool) => {
        const [holders, capacity] = await Promise.all([
          store.pools.holders(pool),
          store.pools.capacity(pool),
        ]);
        return holders.filter((holder) => !holder.expired).length < capacity;
      }),
    );
    return room.every(Boolean);
  }

  return async (announcement: Announcement): Promise<CloudEvent<unknown> | undefined> => {
    if (!announcement.freed && !(await queueCanMove())) return undefined;
    const { leases, cause, traceparent, reason } = announcement;
    const event = events(
      EventTypes.tokenReleased,
      {
        pools: [...new Set(leases.map((lease) => lease.pool))],
        leaseIds: leases.map((lease) => lease.leaseId),
        reason,
      },
      { cause, traceparent },
    );
    await postToSink(event);
    return event;
  };
}
export type Announce = ReturnType<typeof createAnnouncer>;
