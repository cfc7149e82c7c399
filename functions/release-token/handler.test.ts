import { randomUUID } from 'node:crypto';
import type { CloudEvent } from 'cloudevents';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../adapters/redis-store/index.ts';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';
import { type Sink, startSink } from '../../test/release/sink-server.ts';
import { TransientError } from '../lib/errors.ts';
import {
  createEventFactory,
  type EventType,
  EventTypes,
  type InputOf,
  type Lease,
  traceIdOf,
} from '../lib/events/index.ts';
import { samples } from '../lib/events/samples.ts';
import { createReleaseToken } from './handler.ts';
import { createSinkPoster } from './sink.ts';

const start = Date.parse('2026-11-23T10:00:00Z');
const leaseMs = 60_000;
const target = samples[EventTypes.dumpUploaded].target;
const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const ctx = { headers: { traceparent } };

let redis: TestRedis;
let sink: Sink;
let store: Store;
let now: number;

beforeAll(async () => {
  [redis, sink] = await Promise.all([startTestRedis(), startSink()]);
});
afterAll(async () => {
  await Promise.all([redis?.stop(), sink?.close()]);
});
beforeEach(() => {
  now = start;
  sink.posted.splice(0);
  sink.refused.splice(0);
  sink.answer(202);
  store = redis.store({
    now: () => now,
    pools: { dump: { capacity: 1, leaseMs }, upload: { capacity: 1, leaseMs } },
  });
});

function releaseToken(sinkUrl = sink.url) {
  return createReleaseToken({
    store,
    events: createEventFactory('release-token'),
    postToSink: createSinkPoster(sinkUrl, { timeoutMs: 2_000 }),
    clock: () => now,
    log: pino({ level: 'silent' }),
  });
}

/** Takes a dump and an upload token for a new dump, as decide-dump does. */
async function acquire(dumpId = randomUUID(), ttlMs?: number): Promise<{ dumpId: string; leases: Lease[] }> {
  const claims = (['dump', 'upload'] as const).map((pool) => ({ pool, leaseId: randomUUID(), ttlMs }));
  const result = await store.pools.acquire(claims, { dumpId, target: 'shop/checkout-7d9f8-abcde/app' });
  if (!result.ok) throw new Error(`no token left in ${result.pool}`);
  return { dumpId, leases: result.leases.map(({ pool, leaseId, fence }) => ({ pool, leaseId, fence })) };
}

/** An event of the chain as its stage would send it, carrying this dump and its leases. */
function chainEvent<T extends EventType>(
  type: T,
  held: { dumpId: string; leases: Lease[] },
  from = 'upload-dump',
) {
  const data = { ...(samples[type] as object), dumpId: held.dumpId, leases: held.leases } as InputOf<T>;
  return createEventFactory(from)(type, data, { traceparent });
}

function deadLettered(event: CloudEvent<unknown>, status = 503, body = 'redis unavailable during acquire') {
  return event.cloneWith({
    knativeerrordest: 'http://exec-dump.heapdump.svc.cluster.local',
    knativeerrorcode: String(status),
    knativeerrordata: Buffer.from(body).toString('base64'),
  });
}

const live = async () =>
  (await Promise.all([store.pools.holders('dump'), store.pools.holders('upload')]))
    .flat()
    .filter((h) => !h.expired);

const tokenReleased = () => sink.posted.filter((p) => p.event.type === EventTypes.tokenReleased);

/** Puts a request in the wait queue, as decide-dump does when no token is free. */
const enqueue = (dumpId = randomUUID()) =>
  store.queue.enqueue({
    dumpId,
    uid: randomUUID(),
    container: 'app',
    holder: 'shop/waiting/app',
    payload: {},
  });
const popHead = () =>
  store.queue.popIfAvailable((['dump', 'upload'] as const).map((pool) => ({ pool, leaseId: randomUUID() })));

describe('dump.uploaded', () => {
  it('gives both tokens back, turns the switch off, records the upload and posts token.released', async () => {
    const held = await acquire();
    const uploaded = chainEvent(EventTypes.dumpUploaded, held);

    expect(await releaseToken()(ctx, uploaded)).toBeUndefined();

    expect(await live()).toEqual([]);
    expect(await store.switches.dumpedBy(target.uid, target.container)).toBe(held.dumpId);
    expect(await store.records.getDump(held.dumpId)).toMatchObject({
      state: 'uploaded',
      location: samples[EventTypes.dumpUploaded].location.uri,
      rawBytes: 1_434_000_000,
      storedBytes: 480_000_000,
      sha256: 'a'.repeat(64),
      uploadedAt: start,
    });
    const [post] = tokenReleased();
    expect(tokenReleased()).toHaveLength(1);
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
    expect((await live()).map((h) => h.leaseId).sort()).toEqual(next.leases.map((l) => l.leaseId).sort());
  });
});

describe('dump.failed', () => {
  it('gives the tokens back, records stage, error and kept file, and leaves the switch on for a retry', async () => {
    const held = await acquire();
    await releaseToken()(ctx, chainEvent(EventTypes.dumpFailed, held));

    expect(await live()).toEqual([]);
    expect(await store.switches.dumpedBy(target.uid, target.container)).toBeNull();
    expect(await store.records.getDump(held.dumpId)).toMatchObject({
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
    expect((await store.records.getDump(held.dumpId))?.state).toBe('uploaded');
  });
});

describe('late releases', () => {
  it('a lease that expired and was reissued under the same id with a new fence is not released', async () => {
    const old = await acquire(undefined, 1_000);
    now += 2_000;
    // The same lease ids acquired again (a retried acquire): new fences.
    const reissued = await store.pools.acquire(
      old.leases.map(({ pool, leaseId }) => ({ pool, leaseId })),
      { dumpId: randomUUID(), target: 'shop/other/app' },
    );
    expect(reissued.ok).toBe(true);

    await releaseToken()(ctx, chainEvent(EventTypes.dumpFailed, old));

    expect((await live()).map((h) => h.fence).sort()).toEqual(
      reissued.ok ? reissued.leases.map((l) => l.fence).sort() : [],
    );
    expect(tokenReleased()).toEqual([]);
  });

  it('a lease reclaimed by the sweep whose token went to another dump frees nothing', async () => {
    const old = await acquire(undefined, 1_000);
    now += 2_000;
    await releaseToken()(ctx, createEventFactory('ping')(EventTypes.sweep, {}));
    const next = await acquire();
    sink.posted.splice(0);

    await releaseToken()(ctx, chainEvent(EventTypes.dumpUploaded, old));

    expect((await live()).map((h) => h.leaseId).sort()).toEqual(next.leases.map((l) => l.leaseId).sort());
    expect(tokenReleased()).toEqual([]);
  });
});

describe('dead letters', () => {
  const stages = [
    { type: EventTypes.dumpApproved, from: 'decide-dump', stage: 'exec', fileKept: false },
    { type: EventTypes.dumpCaptured, from: 'exec-dump', stage: 'upload', fileKept: true },
    { type: EventTypes.uploadProgressed, from: 'upload-dump', stage: 'upload', fileKept: true },
  ] as const;

  it.each(stages)('$type gives its tokens back and the record says where and why', async (row) => {
    const held = await acquire();
    await releaseToken()(ctx, deadLettered(chainEvent(row.type, held, row.from), 503, 'redis unavailable'));

    expect(await live()).toEqual([]);
    const record = await store.records.getDump(held.dumpId);
    expect(record).toMatchObject({
      state: 'failed',
      fileKept: row.fileKept,
      error: { stage: row.stage, code: 'dead-letter' },
    });
    expect(record?.error?.message).toContain(
      'http://exec-dump.heapdump.svc.cluster.local answered 503: redis unavailable',
    );
    if (row.fileKept) expect(record?.files).toEqual(samples[EventTypes.dumpCaptured].files);
    expect(await store.switches.dumpedBy(target.uid, target.container)).toBeNull();
    expect(tokenReleased()).toHaveLength(1);
  });

  it('dump.uploaded, dead-lettered by release trouble, still records the stored dump and turns the switch off', async () => {
    const held = await acquire();
    await releaseToken()(ctx, deadLettered(chainEvent(EventTypes.dumpUploaded, held)));
    expect(await live()).toEqual([]);
    expect((await store.records.getDump(held.dumpId))?.state).toBe('uploaded');
    expect(await store.switches.dumpedBy(target.uid, target.container)).toBe(held.dumpId);
  });

  it('dump.failed, dead-lettered, keeps the original failure and notes the dead letter', async () => {
    const held = await acquire();
    await releaseToken()(ctx, deadLettered(chainEvent(EventTypes.dumpFailed, held), 500, 'boom'));
    expect(await live()).toEqual([]);
    const record = await store.records.getDump(held.dumpId);
    expect(record?.error).toMatchObject({ stage: 'upload', code: 'storage-unavailable' });
    expect(record?.error?.message).toMatch(
      /^sftp: connection refused \(dead letter: .* answered 500: boom\)$/,
    );
  });

  it('dump.approved without knativeerror* extensions (a timed-out attempt) is still a dead letter', async () => {
    const held = await acquire();
    await releaseToken()(ctx, chainEvent(EventTypes.dumpApproved, held, 'decide-dump'));
    expect(await live()).toEqual([]);
    expect((await store.records.getDump(held.dumpId))?.error?.message).toContain('gave no answer in time');
  });

  it('with data that fails its schema still gives back the leases it names', async () => {
    const held = await acquire();
    const valid = chainEvent(EventTypes.dumpCaptured, held, 'exec-dump');
    const broken = deadLettered(
      valid.cloneWith({ data: { dumpId: held.dumpId, leases: held.leases, files: 'no' } }),
      422,
    );
    await releaseToken()(ctx, broken);
    expect(await live()).toEqual([]);
    expect((await store.records.getDump(held.dumpId))?.error?.code).toBe('dead-letter');
  });

  it("of decide-dump's inputs carry nothing to give back and are acknowledged", async () => {
    const held = await acquire();
    const alert = createEventFactory('alert-bridge')(EventTypes.alertFiring, samples[EventTypes.alertFiring]);
    expect(await releaseToken()(ctx, deadLettered(alert, 422))).toBeUndefined();
    expect(await live()).toHaveLength(2);
    expect(sink.posted).toEqual([]);
    expect(await store.records.getDump(held.dumpId)).toBeNull();
  });
});

describe('sweep', () => {
  const tick = () => createEventFactory('ping')(EventTypes.sweep, {});

  it('reclaims an expired lease, marks its dump failed, and posts token.released so the queue moves', async () => {
    const held = await acquire(undefined, 1_000);
    await store.records.updateDump(held.dumpId, { state: 'uploading' });
    const waiting = randomUUID();
    await enqueue(waiting);
    now += 5_000;

    await releaseToken()(ctx, tick());

    expect(await store.pools.holders('dump')).toEqual([]);
    const record = await store.records.getDump(held.dumpId);
    expect(record).toMatchObject({
      state: 'failed',
      fileKept: true,
      error: { stage: 'upload', code: 'lease-expired' },
    });
    expect(record?.error?.message).toContain(held.leases[0]!.leaseId);
    const [post] = tokenReleased();
    expect(post?.event.data).toEqual({
      pools: ['dump', 'upload'],
      leaseIds: held.leases.map((l) => l.leaseId),
      reason: 'reclaimed',
    });
    // What decide-dump does on token.released:
    expect(await popHead()).toMatchObject({ ok: true, dumpId: waiting });
  });

  it('leaves live leases and finished records alone, and posts nothing when nothing was freed', async () => {
    const stored = await acquire(undefined, 1_000);
    await store.records.updateDump(stored.dumpId, { state: 'uploaded' });
    now += 5_000;
    const running = await acquire();

    await releaseToken()(ctx, tick());
    expect((await store.records.getDump(stored.dumpId))?.state).toBe('uploaded');
    expect(tokenReleased()).toHaveLength(1);

    sink.posted.splice(0);
    await enqueue();
    await releaseToken()(ctx, tick());
    expect((await live()).map((h) => h.leaseId).sort()).toEqual(running.leases.map((l) => l.leaseId).sort());
    expect(sink.posted).toEqual([]);
  });
});

describe('K_SINK', () => {
  it('down: 503, and the retry posts the same token.released once a request waits for the freed tokens', async () => {
    const held = await acquire();
    const uploaded = chainEvent(EventTypes.dumpUploaded, held);
    sink.answer(503);
    const failure = await releaseToken()(ctx, uploaded).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as TransientError).code).toBe(503);
    expect(await live()).toEqual([]); // released before the post failed

    // Meanwhile a request arrives and is queued (say the pool was full when decide-dump looked).
    const waiting = randomUUID();
    await enqueue(waiting);
    sink.answer(202);
    await releaseToken()(ctx, uploaded);

    expect(tokenReleased()).toHaveLength(1);
    const retried = tokenReleased()[0]!.event;
    expect(retried.data).toMatchObject({ leaseIds: held.leases.map((l) => l.leaseId) });
    expect(await popHead()).toMatchObject({ ok: true, dumpId: waiting });

    // The id is derived from the cause: whichever attempt posts, it is the same event.
    expect(sink.refused.map((p) => p.event.id)).toEqual([retried.id]);
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
    ).rejects.toMatchObject({
      code: 503,
      message: expect.stringContaining('ECONNREFUSED'),
    });
  });
});

describe('input', () => {
  it('rejects a type it does not take with 422', async () => {
    const requested = createEventFactory('cli')(EventTypes.dumpDeferred, samples[EventTypes.dumpDeferred]);
    await expect(releaseToken()(ctx, requested)).rejects.toMatchObject({ code: 422 });
  });

  it('rejects an ordinary dump.uploaded with invalid data with 422 (its dead letter is then salvaged)', async () => {
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
