import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ctx, sweepTick, useReleaseFixture } from '../../test/release/fixture.ts';

const { state, releaseToken, acquire, liveIds, tokenReleased, enqueue, popHead } = useReleaseFixture();

describe('sweep', () => {
  it('reclaims an expired lease, marks its dump failed, and posts token.released so the queue moves', async () => {
    const held = await acquire(1_000);
    await state.store.records.updateDump(held.dumpId, { state: 'uploading' });
    const waiting = randomUUID();
    await enqueue(waiting);
    state.now += 5_000;

    await releaseToken()(ctx, sweepTick());

    expect(await state.store.pools.holders('dump')).toEqual([]);
    const record = await state.store.records.getDump(held.dumpId);
    expect(record).toMatchObject({
      state: 'failed',
      fileKept: true,
      error: { stage: 'upload', code: 'lease-expired' },
    });
    expect(record?.error?.message).toContain(held.leases[0]!.leaseId);
    expect(tokenReleased().map((post) => post.event.data)).toEqual([
      { pools: ['dump', 'upload'], leaseIds: held.leases.map((l) => l.leaseId), reason: 'reclaimed' },
    ]);
    // What decide-dump does on token.released:
    expect(await popHead()).toMatchObject({ ok: true, dumpId: waiting });
  });

  it('a dump still waiting for its capture fails in the exec stage, its file not kept', async () => {
    const held = await acquire(1_000);
    await state.store.records.updateDump(held.dumpId, { state: 'approved' });
    state.now += 5_000;
    await releaseToken()(ctx, sweepTick());
    expect(await state.store.records.getDump(held.dumpId)).toMatchObject({
      state: 'failed',
      fileKept: false,
      error: { stage: 'exec', code: 'lease-expired' },
    });
  });

  it('leaves live leases and finished records alone, and posts nothing when nothing was freed', async () => {
    const stored = await acquire(1_000);
    await state.store.records.updateDump(stored.dumpId, { state: 'uploaded' });
    state.now += 5_000;
    const running = await acquire();

    await releaseToken()(ctx, sweepTick());
    expect((await state.store.records.getDump(stored.dumpId))?.state).toBe('uploaded');
    expect(tokenReleased()).toHaveLength(1);

    state.sink.posted.splice(0);
    await enqueue(); // someone waits, but every token is taken: nothing to announce
    await releaseToken()(ctx, sweepTick());
    expect(await liveIds()).toEqual(running.leases.map((l) => l.leaseId).sort());
    expect(state.sink.posted).toEqual([]);
  });
});
