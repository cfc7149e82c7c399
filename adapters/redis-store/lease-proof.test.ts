import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease } from '../../functions/lib/events/index.ts';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

function fakeClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** A dump approved as decide-dump does it: both tokens taken, the container bound through the dump lease. */
async function approved(store: ReturnType<TestRedis['store']>, uid = randomUUID(), ttlMs = 60_000) {
  const dumpId = randomUUID();
  const acquired = await store.pools.acquire(
    [
      { pool: 'dump', leaseId: randomUUID(), ttlMs },
      { pool: 'upload', leaseId: randomUUID(), ttlMs },
    ],
    { dumpId, target: 'shop/api/app' },
  );
  if (!acquired.ok) throw new Error('no tokens');
  const leases: Lease[] = acquired.leases.map(({ pool, leaseId, fence }) => ({ pool, leaseId, fence }));
  expect(await store.pools.bindContainer(uid, 'app', dumpId, leases[0]!)).toBeNull();
  return { dumpId, uid, container: 'app', leases };
}

describe('lease proof', () => {
  it('holds for the dump its leases were granted to, and only while they live when asked to', async () => {
    const clock = fakeClock();
    const store = redis.store({ now: clock.now, pools: { dump: { capacity: 5 }, upload: { capacity: 5 } } });
    const claim = await approved(store);
    expect(await store.pools.prove({ ...claim, live: true })).toEqual({ ok: true });
    clock.advance(61_000);
    expect(await store.pools.prove({ ...claim, live: true })).toEqual({
      ok: false,
      reason: `lease ${claim.leases[0]!.leaseId} has expired`,
    });
    // Settling what expired (not yet reclaimed) is still this dump's to do.
    expect(await store.pools.prove({ ...claim, live: false })).toEqual({ ok: true });
  });

  it('refuses every forgery: no leases, made-up ids, another dump’s, a stale fence, another container', async () => {
    const store = redis.store({ pools: { dump: { capacity: 5 }, upload: { capacity: 5 } } });
    const mine = await approved(store);
    const theirs = await approved(store);
    const refused = async (claim: typeof mine) => store.pools.prove({ ...claim, live: true });

    expect(await refused({ ...mine, leases: [] })).toEqual({ ok: false, reason: 'no dump lease' });
    expect(await refused({ ...mine, leases: [{ pool: 'dump', leaseId: 'made-up', fence: 1 }] })).toEqual({
      ok: false,
      reason: 'lease made-up is not held',
    });
    expect((await refused({ ...mine, leases: theirs.leases })).ok).toBe(false);
    const stale = mine.leases.map((lease) => ({ ...lease, fence: lease.fence - 1 }));
    expect(await refused({ ...mine, leases: stale })).toMatchObject({ ok: false, reason: /another fence/ });
    expect(await refused({ ...mine, uid: theirs.uid })).toEqual({
      ok: false,
      reason: 'the container is bound to another dump',
    });
    expect(await refused({ ...mine, leases: mine.leases.filter((l) => l.pool === 'upload') })).toEqual({
      ok: false,
      reason: 'no dump lease',
    });
    expect(await refused(mine)).toEqual({ ok: true });
  });

  it('renews what it proves when asked: a holder at work keeps its leases past their first expiry', async () => {
    const clock = fakeClock();
    const store = redis.store({
      now: clock.now,
      pools: { dump: { capacity: 5, leaseMs: 60_000 }, upload: { capacity: 5, leaseMs: 60_000 } },
    });
    const claim = await approved(store);
    clock.advance(50_000);
    expect(await store.pools.prove({ ...claim, live: true, renew: true })).toEqual({ ok: true });
    clock.advance(50_000); // 100 s after the grant, 50 s after the renewal
    expect(await store.pools.prove({ ...claim, live: true })).toEqual({ ok: true });
    clock.advance(11_000);
    expect((await store.pools.prove({ ...claim, live: true })).ok).toBe(false);
  });

  it('ends with the release: a settled dump proves nothing any more', async () => {
    const store = redis.store({ pools: { dump: { capacity: 5 }, upload: { capacity: 5 } } });
    const claim = await approved(store);
    await store.pools.release(claim.leases);
    expect((await store.pools.prove({ ...claim, live: false })).ok).toBe(false);
  });
});
