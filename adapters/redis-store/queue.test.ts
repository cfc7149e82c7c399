import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';
import type { LeaseClaim } from './index.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

const request = (n: number, container = 'app') => ({
  dumpId: `dump-q${String(n).padStart(4, '0')}`,
  uid: `uid-${n}`,
  container,
  holder: `ns/pod-${n}/${container}`,
  payload: { n },
});
const claims = (): LeaseClaim[] => [
  { pool: 'dump', leaseId: randomUUID() },
  { pool: 'upload', leaseId: randomUUID() },
];

describe('wait queue', () => {
  it('is idempotent by dump id and keeps one place per container', async () => {
    const store = redis.store();
    expect(await store.queue.enqueue(request(1))).toEqual({ added: true, dumpId: 'dump-q0001', position: 1 });
    expect(await store.queue.enqueue(request(1))).toEqual({
      added: false,
      dumpId: 'dump-q0001',
      position: 1,
    });
    const sameContainer = { ...request(1), dumpId: 'dump-q9999' };
    expect(await store.queue.enqueue(sameContainer)).toEqual({
      added: false,
      dumpId: 'dump-q0001',
      position: 1,
    });
    expect(await store.queue.enqueue(request(2))).toMatchObject({ added: true, position: 2 });
    expect(await store.queue.length()).toBe(2);
  });

  it('serves in FIFO order, popping the head only when tokens are free', async () => {
    const store = redis.store();
    for (const n of [5, 3, 9, 1]) await store.queue.enqueue(request(n));
    const served: unknown[] = [];
    for (;;) {
      const popped = await store.queue.popIfAvailable(claims());
      if (!popped.ok) {
        expect('empty' in popped).toBe(true);
        break;
      }
      served.push(popped.payload);
      // While the head holds the tokens, the next one must wait.
      const blocked = await store.queue.popIfAvailable(claims());
      if (blocked.ok) throw new Error('popped while the pool was full');
      if ('pool' in blocked) expect(blocked.pool).toBe('dump');
      await store.pools.release(popped.leases);
    }
    expect(served).toEqual([{ n: 5 }, { n: 3 }, { n: 9 }, { n: 1 }]);
  });

  it('binds the popped leases to the popped dump, and frees the container for a later request', async () => {
    const store = redis.store();
    await store.queue.enqueue(request(7));
    const popped = await store.queue.popIfAvailable(claims());
    if (!popped.ok) throw new Error('expected a pop');
    expect(popped.dumpId).toBe('dump-q0007');
    const holders = await store.pools.holders('upload');
    expect(holders.map((h) => [h.dumpId, h.target])).toEqual([['dump-q0007', 'ns/pod-7/app']]);
    expect(await store.queue.enqueue({ ...request(7), dumpId: 'dump-q0077' })).toMatchObject({ added: true });
  });

  it('lists and removes queued requests', async () => {
    const store = redis.store();
    await store.queue.enqueue(request(1));
    await store.queue.enqueue(request(2));
    expect((await store.queue.list()).map((q) => [q.dumpId, q.position, q.payload])).toEqual([
      ['dump-q0001', 1, { n: 1 }],
      ['dump-q0002', 2, { n: 2 }],
    ]);
    expect(await store.queue.remove('dump-q0001', 'uid-1', 'app')).toBe(1);
    expect((await store.queue.list()).map((q) => q.dumpId)).toEqual(['dump-q0002']);
  });

  it('with 50 concurrent poppers and capacity 1, exactly one wins', async () => {
    const store = redis.store();
    for (let n = 0; n < 10; n++) await store.queue.enqueue(request(n));
    const results = await Promise.all(Array.from({ length: 50 }, () => store.queue.popIfAvailable(claims())));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await store.queue.length()).toBe(9);
  });
});

describe('switches', () => {
  it('global switch defaults to on and can be turned off and on', async () => {
    const store = redis.store();
    expect(await store.switches.isGlobalOn()).toBe(true);
    await store.switches.setGlobal(false);
    expect(await store.switches.isGlobalOn()).toBe(false);
    await store.switches.setGlobal(true);
    expect(await store.switches.isGlobalOn()).toBe(true);
  });

  it('per-container switches turn off after a dump and reset one or all', async () => {
    const store = redis.store();
    expect(await store.switches.dumpedBy('uid-a', 'app')).toBeNull();
    await store.switches.markDumped('uid-a', 'app', 'dump-a0000001');
    await store.switches.markDumped('uid-b', 'app', 'dump-b0000001');
    await store.switches.markDumped('uid-c', 'side', 'dump-c0000001');
    expect(await store.switches.dumpedBy('uid-a', 'app')).toBe('dump-a0000001');
    expect((await store.switches.listDumped()).sort((x, y) => x.uid.localeCompare(y.uid))).toEqual([
      { uid: 'uid-a', container: 'app', dumpId: 'dump-a0000001' },
      { uid: 'uid-b', container: 'app', dumpId: 'dump-b0000001' },
      { uid: 'uid-c', container: 'side', dumpId: 'dump-c0000001' },
    ]);
    expect(await store.switches.reset({ uid: 'uid-a', container: 'app' })).toBe(1);
    expect(await store.switches.dumpedBy('uid-a', 'app')).toBeNull();
    expect(await store.switches.reset()).toBe(2);
    expect(await store.switches.listDumped()).toEqual([]);
  });
});

describe('records', () => {
  it('dedupes events by source and id', async () => {
    const store = redis.store();
    expect(await store.records.claimEvent('/src', 'id-1')).toBe(true);
    expect(await store.records.claimEvent('/src', 'id-1')).toBe(false);
    expect(await store.records.claimEvent('/other', 'id-1')).toBe(true);
    await store.records.unclaimEvent('/src', 'id-1');
    expect(await store.records.claimEvent('/src', 'id-1')).toBe(true);
  });

  it('records restart counts and reports the previous one', async () => {
    const store = redis.store();
    expect(await store.records.observeRestartCount('uid-1', 'app', 2)).toBeNull();
    expect(await store.records.observeRestartCount('uid-1', 'app', 3)).toBe(2);
    expect(await store.records.observeRestartCount('uid-1', 'app', 1)).toBe(3);
    expect(await store.records.observeRestartCount('uid-1', 'app', 4)).toBe(3);
  });

  it('keeps dump records with stage timestamps, sizes, errors, newest first', async () => {
    let now = 1_000;
    const store = redis.store({ now: () => now });
    await store.records.updateDump('dump-r0000001', {
      state: 'approved',
      target: 'ns/p/app',
      approvedAt: now,
    });
    now = 2_000;
    await store.records.updateDump('dump-r0000002', { state: 'approved' });
    await store.records.updateDump('dump-r0000001', {
      state: 'failed',
      failedAt: now,
      rawBytes: 1234,
      error: { stage: 'upload', code: 'no-space', message: 'disk full' },
      fileKept: true,
    });
    const record = await store.records.getDump('dump-r0000001');
    expect(record).toMatchObject({
      dumpId: 'dump-r0000001',
      state: 'failed',
      target: 'ns/p/app',
      approvedAt: 1_000,
      failedAt: 2_000,
      createdAt: 1_000,
      rawBytes: 1234,
      fileKept: true,
      error: { stage: 'upload', code: 'no-space', message: 'disk full' },
    });
    expect((await store.records.listDumps()).map((r) => r.dumpId)).toEqual([
      'dump-r0000002',
      'dump-r0000001',
    ]);
    expect(await store.records.getDump('dump-none0000')).toBeNull();
  });

  it('saves checkpoints that never move back', async () => {
    const store = redis.store();
    expect(await store.records.loadCheckpoint('dump-u0000001')).toBeNull();
    expect(await store.records.saveCheckpoint('dump-u0000001', 3, { offset: 300 })).toBe(true);
    expect(await store.records.saveCheckpoint('dump-u0000001', 2, { offset: 200 })).toBe(false);
    expect(await store.records.loadCheckpoint('dump-u0000001')).toEqual({ offset: 300 });
    await store.records.clearCheckpoint('dump-u0000001');
    expect(await store.records.loadCheckpoint('dump-u0000001')).toBeNull();
  });
});
