import { createHash } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import { createRedisClient, type Store } from '../../adapters/redis-store/index.ts';
import { EventTypes, type InputOf } from '../../functions/lib/events/index.ts';
import { samples } from '../../functions/lib/events/samples.ts';
import type { TestRedis } from '../helpers/redis.ts';

/** Every key under a store's prefix: "nothing written to Redis" is checked by scanning it. */
export async function keysUnder(redis: TestRedis, prefix: string): Promise<string[]> {
  const client = createRedisClient({ url: redis.restUrl, token: redis.token, retries: 0 });
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, { match: `${prefix}*`, count: 1000 });
    found.push(...batch);
    cursor = String(next);
  } while (cursor !== '0');
  return found.sort();
}

/** Deterministic dump and lease ids: `00000000-0000-4000-8000-000000000001`, ... */
export function sequentialUuids(start = 1) {
  let n = start;
  return () => `00000000-0000-4000-8000-${String(n++).padStart(12, '0')}`;
}

let ids = 0;
/** An incoming CloudEvent as another party (Alertmanager's bridge, an operator, the source) would send it. */
export function incoming(type: string, data: unknown, fields: Record<string, unknown> = {}) {
  return new CloudEvent<unknown>({
    type,
    source: '/test/sender',
    id: `test-${process.pid}-${++ids}`,
    datacontenttype: 'application/json',
    data,
    ...fields,
  });
}

/** An alert.firing as alert-bridge sends it: id `<fingerprint>:<startsAt>`, the fingerprint stable per pod. */
export function alertFor(
  namespace: string,
  pod: string,
  extra: Partial<InputOf<typeof EventTypes.alertFiring>> = {},
) {
  const fingerprint =
    extra.fingerprint ?? createHash('sha1').update(`${namespace}/${pod}`).digest('hex').slice(0, 16);
  const data = {
    ...samples[EventTypes.alertFiring],
    namespace,
    pod,
    container: undefined,
    fingerprint,
    ...extra,
  };
  return incoming(EventTypes.alertFiring, data, { id: `${fingerprint}:${data.startsAt}` });
}

export const manualRequest = (namespace: string, pod: string, extra: Record<string, unknown> = {}) =>
  incoming(EventTypes.dumpRequested, { namespace, pod, reason: 'ticket 42', ...extra });

export const tokenReleased = () =>
  incoming(EventTypes.tokenReleased, { pools: ['dump', 'upload'], leaseIds: [] });

/** What release-token does after a stored dump: gives the tokens back and turns the container's switch off. */
export async function finishDump(
  store: Store,
  approved: { dumpId: string; target: { uid: string; container: string }; leases: never[] | unknown[] },
) {
  await store.pools.release(approved.leases as Parameters<Store['pools']['release']>[0]);
  await store.switches.markDumped(approved.target.uid, approved.target.container, approved.dumpId);
}
