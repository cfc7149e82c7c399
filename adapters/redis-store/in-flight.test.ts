import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

describe('one dump in flight per container', () => {
  it('refuses a second dump while the first holds its lease, and forgets it once released or expired', async () => {
    let now = 1_000_000;
    const store = redis.store({ now: () => now, pools: { dump: { capacity: 5, leaseMs: 60_000 } } });
    const take = async (dumpId: string) => {
      const result = await store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], {
        dumpId,
        target: 't',
      });
      if (!result.ok) throw new Error('pool full');
      return result.leases[0]!;
    };
    const first = await take('dump-0001');
    expect(await store.pools.bindContainer('uid-1', 'app', 'dump-0001', first)).toBeNull();
    // The same dump binding again (a retry) is fine; another container is unaffected.
    expect(await store.pools.bindContainer('uid-1', 'app', 'dump-0001', first)).toBeNull();
    const other = await take('dump-0002');
    expect(await store.pools.bindContainer('uid-1', 'sidecar', 'dump-0002', other)).toBeNull();

    const second = await take('dump-0003');
    expect(await store.pools.bindContainer('uid-1', 'app', 'dump-0003', second)).toBe('dump-0001');
    await store.pools.release([first]);
    expect(await store.pools.bindContainer('uid-1', 'app', 'dump-0003', second)).toBeNull();

    now += 61_000; // dump-0003's lease expired without a release (its holder died)
    const third = await take('dump-0004');
    expect(await store.pools.bindContainer('uid-1', 'app', 'dump-0004', third)).toBeNull();
  });
});
