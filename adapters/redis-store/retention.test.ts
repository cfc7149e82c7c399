import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';
import { createRedisClient } from './index.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

const DAY = 86_400_000;

describe('retention: nothing but live leases, the queue and the global switch stays forever', () => {
  it('dump records, the dumps index, upload states and container switches expire, each after its own time', async () => {
    let now = Date.parse('2026-11-01T00:00:00Z');
    const store = redis.store({ now: () => now, recordRetentionMs: 30 * DAY, switchRetentionMs: 90 * DAY });
    const raw = createRedisClient({ url: redis.restUrl, token: redis.token });
    const ttlDays = async (key: string) => (await raw.pttl(key)) / DAY;

    await store.records.updateDump('dump-old', { state: 'uploaded' });
    expect(await ttlDays(store.keys.dump('dump-old'))).toBeCloseTo(30, 1);
    await store.records.saveCheckpoint('dump-old', 1, { segments: [] });
    expect(await ttlDays(store.keys.upload('dump-old'))).toBeCloseTo(30, 1);
    await store.switches.markDumped('uid-1', 'app', 'dump-old');
    expect(await ttlDays(store.keys.dumped('uid-1', 'app'))).toBeCloseTo(90, 1);

    now += 31 * DAY; // the record itself has expired in Redis' time by then; the index learns it on a write
    await store.records.updateDump('dump-new', { state: 'approved' });
    expect((await store.records.listDumps()).map((d) => d.dumpId)).not.toContain('dump-old');
    expect(await raw.zrange(store.keys.dumps, 0, -1)).toEqual(['dump-new']);
  });
});
