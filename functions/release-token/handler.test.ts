import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  chainEvent,
  ctx,
  deadLettered,
  start,
  sweepTick,
  target,
  traceparent,
  useReleaseFixture,
} from '../../test/release/fixture.ts';
import { startSink } from '../../test/release/sink-server.ts';
import { TransientError } from '../lib/errors.ts';
import { createEventFactory, EventTypes, traceIdOf } from '../lib/events/index.ts';
import { samples } from '../lib/events/samples.ts';

const { state, releaseToken, acquire, live, liveIds, tokenReleased, enqueue, popHead } = useReleaseFixture();
const idsOf = (held: { leases: { leaseId: string }[] }) => held.leases.map((l) => l.leaseId).sort();

describe('dump.uploaded', () => {
  it('gives both tokens back, turns the switch off, records the upload and posts token.released', async () => {
    const held = await acquire();
    const uploaded = chainEvent(EventTypes.dumpUploaded, held);

    expect(await releaseToken()(ctx, uploaded)).toBeUndefined();

    expect(await live()).toEqual([]);
    expect(await state.store.switches.dumpedBy(target.uid, target.container)).toBe(held.dumpId);
    expect(await state.store.records.getDump(held.dumpId)).toMatchObject({
      state: 'uploaded',
      location: samples[EventTypes.dumpUploaded].location.uri,
      rawBytes: 1_434_000_000,
      storedBytes: 480_000_000,
      sha256: 'a'.repeat(64),
      uploadedAt: start,
    });
    expect(tokenReleased()).toHaveLength(1);
    const [post] = tokenReleased();
    expect(post?.event).toMatchObject({ source: '/heapdump/release-token', dumpid: held.dumpId });
    expect(post?.event.data).toEqual({
      pools: ['dump', 'upload'],
      leaseIds: held.leases.map((l) => l.leaseId),
      reason: 'released',
    });
    // One trace per dump: the header the Broker propagates and the extension both continue the cause's trace.
    expect(traceIdOf(post?.headers.traceparent as string)).toBe(traceIdOf(traceparent));
    expect(post?.event.traceparent).toBe(post?.headers.traceparent);
    expect(post?.headers['ce-id']).toBe(post?.event.id);
  });

  it('on double delivery frees once and posts once', async () => {
    const held = await acquire();
    const uploaded = chainEvent(EventTypes.dumpUploaded, held);
    const handler = releaseToken();

    await handler(ctx, uploaded);
    const next = await acquire();
    await handler(ctx, uploaded);

    expect(tokenReleased()).toHaveLength(1);
    expect(await liveIds()).toEqual(idsOf(next));
  });
});

describe('dump.failed', () => {
  it('gives the tokens back, records stage, error and kept file, and leaves the switch on for a retry', async () => {
    const held = await acquire();
    await releaseToken()(ctx, chainEvent(EventTypes.dumpFailed, held));

    expect(await live()).toEqual([]);
    expect(await state.store.switches.dumpedBy(target.uid, target.container)).toBeNull();
    expect(await state.store.records.getDump(held.dumpId)).toMatchObject({
      state: 'failed',
      error: { stage: 'upload', code: 'storage-unavailable', message: 'sftp: connection refused' },
      fileKept: true,
      failedAt: start,
    });
    expect(tokenReleased()).toHaveLength(1);
  });

  it('arriving after the dump was stored does not turn the record into a failure', async () => {
    const held = await acquire();
    const handler = releaseToken();
    await handler(ctx, chainEvent(EventTypes.dumpUploaded, held));
    await handler(ctx, chainEvent(EventTypes.dumpFailed, held));
    expect((await state.store.records.getDump(held.dumpId))?.state).toBe('uploaded');
  });
});

describe('late releases', () => {
  it('a lease that expired and was reissued under the same id with a new fence is not released', async () => {
    const old = await acquire(1_000);
    state.now += 2_000;
    // The same lease ids acquired again (a retried acquire) get new fences.
    const reissued = await state.store.pools.acquire(
      old.leases.map(({ pool, leaseId }) => ({ pool, leaseId })),
      { dumpId: randomUUID(), target: 'shop/other/app' },
    );
    if (!reissued.ok) throw new Error('the expired tokens should be free again');

    await releaseToken()(ctx, chainEvent(EventTypes.dumpFailed, old));

    expect((await live()).map((h) => h.fence).sort()).toEqual(reissued.leases.map((l) => l.fence).sort());
    expect(tokenReleased()).toEqual([]);
  });

  it('a lease reclaimed by the sweep whose token went to another dump frees nothing', async () => {
    const old = await acquire(1_000);
    state.now += 2_000;
    await releaseToken()(ctx, sweepTick());
    const next = await acquire();
    state.sink.posted.splice(0);

    await releaseToken()(ctx, chainEvent(EventTypes.dumpUploaded, old));

    expect(await liveIds()).toEqual(idsOf(next));
    expect(tokenReleased()).toEqual([]);
  });
});

describe('K_SINK', () => {
  it('down: 503, and the retry posts the same token.released once a request waits for the freed tokens', async () => {
    const held = await acquire();
    const uploaded = chainEvent(EventTypes.dumpUploaded, held);
    state.sink.answer(503);
    const failure = await releaseToken()(ctx, uploaded).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as TransientError).code).toBe(503);
    expect(await live()).toEqual([]); // released before the post failed

    // Meanwhile a request was queued (the pools were full when decide-dump looked).
    const waiting = randomUUID();
    await enqueue(waiting);
    state.sink.answer(202);
    await releaseToken()(ctx, uploaded);

    expect(tokenReleased()).toHaveLength(1);
    const retried = tokenReleased()[0]!.event;
    expect(retried.data).toMatchObject({ leaseIds: held.leases.map((l) => l.leaseId) });
    expect(await popHead()).toMatchObject({ ok: true, dumpId: waiting });
    // The id is derived from the cause: whichever attempt posts, it is the same event.
    expect(state.sink.refused.map((p) => p.event.id)).toEqual([retried.id]);

    // Nobody waits any more: a further redelivery posts nothing.
    await releaseToken()(ctx, uploaded);
    expect(tokenReleased()).toHaveLength(1);
  });

  it('unreachable: 503', async () => {
    const held = await acquire();
    const closed = await startSink();
    await closed.close();
    await expect(
      releaseToken(closed.url)(ctx, chainEvent(EventTypes.dumpUploaded, held)),
    ).rejects.toMatchObject({ code: 503, message: expect.stringContaining('ECONNREFUSED') });
  });
});

describe('input', () => {
  it('rejects a type it does not take with 422', async () => {
    const deferred = createEventFactory('decide-dump')(
      EventTypes.dumpDeferred,
      samples[EventTypes.dumpDeferred],
    );
    await expect(releaseToken()(ctx, deferred)).rejects.toMatchObject({ code: 422 });
  });

  it('rejects an ordinary dump.uploaded with invalid data with 422, and salvages its dead letter', async () => {
    const held = await acquire();
    const broken = chainEvent(EventTypes.dumpUploaded, held).cloneWith({
      data: { dumpId: held.dumpId, leases: held.leases },
    });
    await expect(releaseToken()(ctx, broken)).rejects.toMatchObject({ code: 422 });
    expect(await live()).toHaveLength(2);
    await releaseToken()(ctx, deadLettered(broken, 422));
    expect(await live()).toEqual([]);
  });
});
