import { randomUUID } from 'node:crypto';
import type { CloudEvent } from 'cloudevents';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { Store } from '../../adapters/redis-store/index.ts';
import {
  createEventFactory,
  type EventType,
  EventTypes,
  type InputOf,
  type Lease,
} from '../../functions/lib/events/index.ts';
import { samples } from '../../functions/lib/events/samples.ts';
import { createSinkPoster } from '../../functions/lib/sink-poster.ts';
import { createReleaseToken } from '../../functions/release-token/handler.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Sink, startSink } from './sink-server.ts';

export const start = Date.parse('2026-11-23T10:00:00Z');
export const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
export const ctx = { headers: { traceparent } };
export const target = samples[EventTypes.dumpUploaded].target;
export type Held = { dumpId: string; leases: Lease[] };

/**
 * release-token's handler on a real Redis (one token per pool, a fake clock) and a real HTTP sink for K_SINK;
 * every test gets a fresh key prefix, an empty sink and the clock back at `start`.
 */
export function useReleaseFixture() {
  let redis: TestRedis;
  const state = {} as { sink: Sink; store: Store; now: number };

  beforeAll(async () => {
    [redis, state.sink] = await Promise.all([startTestRedis(), startSink()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), state.sink?.close()]);
  });
  beforeEach(() => {
    state.now = start;
    state.sink.posted.splice(0);
    state.sink.refused.splice(0);
    state.sink.answer(202);
    const pool = { capacity: 1, leaseMs: 60_000 };
    state.store = redis.store({ now: () => state.now, pools: { dump: pool, upload: pool } });
  });

  const live = async () =>
    (await Promise.all([state.store.pools.holders('dump'), state.store.pools.holders('upload')]))
      .flat()
      .filter((h) => !h.expired);

  return {
    state,
    releaseToken: (sinkUrl = state.sink.url) =>
      createReleaseToken({
        store: state.store,
        events: createEventFactory('release-token'),
        postToSink: createSinkPoster(sinkUrl, { timeoutMs: 2_000 }),
        clock: () => state.now,
        log: pino({ level: 'silent' }),
      }),

    /**
     * Takes a dump and an upload token for a new dump and binds the container to it, as decide-dump does;
     * the container is chainEvent's unless given (one dump per container at a time).
     */
    async acquire(ttlMs?: number, container: { uid: string; container: string } = target): Promise<Held> {
      const dumpId = randomUUID();
      const claims = (['dump', 'upload'] as const).map((pool) => ({ pool, leaseId: randomUUID(), ttlMs }));
      const result = await state.store.pools.acquire(claims, { dumpId, target: 'shop/checkout/app' });
      if (!result.ok) throw new Error(`no token left in ${result.pool}`);
      const leases = result.leases.map(({ pool, leaseId, fence }) => ({ pool, leaseId, fence }));
      const other = await state.store.pools.bindContainer(
        container.uid,
        container.container,
        dumpId,
        leases[0]!,
      );
      if (other) throw new Error(`the container is bound to dump ${other}`);
      return { dumpId, leases };
    },

    /** Leases still held and not expired, in both pools. */
    live,
    liveIds: async () => (await live()).map((h) => h.leaseId).sort(),

    tokenReleased: () => state.sink.posted.filter((p) => p.event.type === EventTypes.tokenReleased),

    /** Puts a request in the wait queue, as decide-dump does when no token is free. */
    enqueue: (dumpId = randomUUID()) =>
      state.store.queue.enqueue({
        dumpId,
        uid: randomUUID(),
        container: 'app',
        holder: 'shop/w/app',
        payload: {},
      }),
    /** What decide-dump does on token.released: pop the head if every pool has a token for it. */
    popHead: () =>
      state.store.queue.popIfAvailable(
        (['dump', 'upload'] as const).map((pool) => ({ pool, leaseId: randomUUID() })),
      ),
  };
}

/** An event of the chain as its stage would send it, carrying this dump and its leases. */
export function chainEvent<T extends EventType>(type: T, held: Held, from = 'upload-dump') {
  const data = { ...(samples[type] as object), dumpId: held.dumpId, leases: held.leases } as InputOf<T>;
  return createEventFactory(from)(type, data, { traceparent });
}

/** The event as Knative hands it to a dead-letter sink: same type and source, plus knativeerror*. */
export function deadLettered(event: CloudEvent<unknown>, status = 503, body = 'redis unavailable') {
  return event.cloneWith({
    knativeerrordest: 'http://exec-dump.heapdump.svc.cluster.local',
    knativeerrorcode: String(status),
    knativeerrordata: Buffer.from(body).toString('base64'),
  });
}

export const sweepTick = () => createEventFactory('ping')(EventTypes.sweep, {});
