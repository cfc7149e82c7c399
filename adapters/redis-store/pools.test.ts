import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lease, TransientError } from '../../functions/lib/index.ts';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';
import { createRedisClient, createStore } from './index.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

/** A clock the test moves by hand. */
function fakeClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const holder = { dumpId: 'dump-0001', target: 'ns/pod/app' };

describe('token pools', () => {
  it('grants up to capacity, then refuses, and a release frees exactly one token', async () => {
    const store = redis.store({ pools: { dump: { capacity: 2 } } });
    const a = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    const b = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    const c = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    expect(a.ok && b.ok).toBe(true);
    expect(c).toEqual({ ok: false, pool: 'dump' });
    if (!a.ok || !b.ok) throw new Error('unreachable');
    expect(b.leases[0]!.fence).toBeGreaterThan(a.leases[0]!.fence);

    const [released] = await store.pools.release(a.leases);
    expect(released!.outcome).toBe('released');
    const d = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    expect(d.ok).toBe(true);
  });

  it('takes a dump and an upload token together or not at all', async () => {
    const store = redis.store();
    const first = await store.pools.acquire(
      [
        { pool: 'dump', leaseId: randomUUID() },
        { pool: 'upload', leaseId: randomUUID() },
      ],
      holder,
    );
    expect(first.ok).toBe(true);
    // The upload pool is full, so the dump token must not be taken either.
    if (!first.ok) throw new Error('unreachable');
    await store.pools.release([first.leases[0]!]);
    const second = await store.pools.acquire(
      [
        { pool: 'dump', leaseId: randomUUID() },
        { pool: 'upload', leaseId: randomUUID() },
      ],
      holder,
    );
    expect(second).toEqual({ ok: false, pool: 'upload' });
    expect(await store.pools.holders('dump')).toHaveLength(0);
  });

  it('a retried acquire with the same lease id returns the same lease, not a second token', async () => {
    const store = redis.store({ pools: { dump: { capacity: 2 } } });
    const claim = [{ pool: 'dump' as const, leaseId: randomUUID() }];
    const first = await store.pools.acquire(claim, holder);
    const retry = await store.pools.acquire(claim, holder);
    expect(retry).toEqual(first);
    expect(await store.pools.holders('dump')).toHaveLength(1);
  });

  it('a release repeated 5 times frees one token', async () => {
    const store = redis.store({ pools: { dump: { capacity: 2 } } });
    const a = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    const b = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    if (!a.ok || !b.ok) throw new Error('expected two leases');
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push((await store.pools.release(a.leases))[0]!.outcome);
    expect(outcomes).toEqual(['released', 'unknown', 'unknown', 'unknown', 'unknown']);
    const holders = await store.pools.holders('dump');
    expect(holders.map((h) => h.leaseId)).toEqual([b.leases[0]!.leaseId]);
  });

  it('an expired lease stops counting, is reclaimed, and its late release frees nothing of the new holder', async () => {
    const clock = fakeClock();
    const store = redis.store({ now: clock.now, pools: { dump: { capacity: 1, leaseMs: 1_000 } } });
    const old = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    if (!old.ok) throw new Error('expected a lease');
    clock.advance(1_001);

    const fresh = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], {
      dumpId: 'dump-0002',
      target: 'ns/other/app',
    });
    expect(fresh.ok).toBe(true);
    if (!fresh.ok) throw new Error('unreachable');

    const [late] = await store.pools.release(old.leases);
    expect(late!.outcome).toBe('expired');
    const holders = await store.pools.holders('dump');
    expect(holders.map((h) => h.leaseId)).toEqual([fresh.leases[0]!.leaseId]);
    // Still full: the late release did not hand out the new holder's token.
    const third = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    expect(third).toEqual({ ok: false, pool: 'dump' });
  });

  it('a release with a stale fence does not free a re-issued lease of the same id', async () => {
    const clock = fakeClock();
    const store = redis.store({ now: clock.now, pools: { dump: { capacity: 1, leaseMs: 1_000 } } });
    const leaseId = randomUUID();
    const first = await store.pools.acquire([{ pool: 'dump', leaseId }], holder);
    clock.advance(2_000);
    const again = await store.pools.acquire([{ pool: 'dump', leaseId }], holder);
    if (!first.ok || !again.ok) throw new Error('expected leases');
    expect(again.leases[0]!.fence).toBeGreaterThan(first.leases[0]!.fence);
    const [stale] = await store.pools.release(first.leases);
    expect(stale!.outcome).toBe('fenced');
    expect(await store.pools.holders('dump')).toHaveLength(1);
  });

  it('reclaims expired leases and reports whose they were', async () => {
    const clock = fakeClock();
    const store = redis.store({ now: clock.now, pools: { dump: { capacity: 3, leaseMs: 1_000 } } });
    await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], {
      dumpId: 'dump-dead',
      target: 'a/b/c',
    });
    clock.advance(500);
    const alive = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    clock.advance(600);
    const reclaimed = await store.pools.reclaimExpired('dump');
    expect(reclaimed.map((r) => [r.dumpId, r.target])).toEqual([['dump-dead', 'a/b/c']]);
    expect(await store.pools.reclaimExpired('dump')).toEqual([]);
    if (!alive.ok) throw new Error('expected a lease');
    expect((await store.pools.holders('dump')).map((h) => h.leaseId)).toEqual([alive.leases[0]!.leaseId]);
  });

  it('renews a live lease and refuses to renew an expired one', async () => {
    const clock = fakeClock();
    const store = redis.store({ now: clock.now, pools: { dump: { leaseMs: 1_000 } } });
    const got = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder);
    if (!got.ok) throw new Error('expected a lease');
    const lease: Lease = got.leases[0]!;
    clock.advance(900);
    expect(await store.pools.renew(lease, 5_000)).toBe(clock.now() + 5_000);
    clock.advance(4_000);
    expect((await store.pools.holders('dump'))[0]!.expired).toBe(false);
    clock.advance(1_001);
    expect(await store.pools.renew(lease)).toBe(false);
  });

  it('honours a capacity an operator set in Redis over the configured default', async () => {
    const store = redis.store({ pools: { dump: { capacity: 1 } } });
    await store.pools.setCapacity('dump', 2);
    expect(await store.pools.capacity('dump')).toBe(2);
    const results = await Promise.all(
      [1, 2, 3].map(() => store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(2);
  });

  it('200 concurrent contenders on a pool of 3 never see more than 3 holders at once', async () => {
    // What this checks is the capacity, not latency: on a shared, busy machine 200 pollers can keep one
    // request waiting past the default 10 s, which would fail the test for the wrong reason.
    const patient = createRedisClient({
      url: redis.restUrl,
      token: redis.token,
      retries: 0,
      timeoutMs: 90_000,
    });
    const store = redis.store({ redis: patient, pools: { dump: { capacity: 3 } } });
    // The observer counts holders from its own bookkeeping, independent of the store's answers about itself.
    let holding = 0;
    let maxHolding = 0;
    let violations = 0;
    let completed = 0;
    const contender = async (n: number) => {
      for (;;) {
        const got = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], {
          dumpId: `dump-c${String(n).padStart(4, '0')}`,
          target: `ns/p${n}/app`,
        });
        if (!got.ok) {
          await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
          continue;
        }
        holding++;
        maxHolding = Math.max(maxHolding, holding);
        if (holding > 3) violations++;
        await new Promise((r) => setTimeout(r, 1));
        holding--;
        await store.pools.release(got.leases);
        completed++;
        return;
      }
    };
    await Promise.all(Array.from({ length: 200 }, (_, n) => contender(n)));
    expect(completed).toBe(200);
    expect(violations).toBe(0);
    expect(maxHolding).toBeLessThanOrEqual(3);
    expect(maxHolding).toBeGreaterThan(1);
    expect(await store.pools.holders('dump')).toEqual([]);
  }, 120_000);

  it('surfaces Redis being down as a TransientError', async () => {
    const store = createStore({
      redis: createRedisClient({ url: 'http://127.0.0.1:9', token: 'x', retries: 0 }),
    });
    await expect(
      store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], holder),
    ).rejects.toBeInstanceOf(TransientError);
    await expect(store.switches.isGlobalOn()).rejects.toThrow(/redis unavailable/);
  });
});

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
