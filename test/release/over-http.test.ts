/**
 * release-token as Knative runs it: faas-js-runtime in its own process, reached over HTTP in binary and
 * structured mode, posting token.released to a real HTTP sink standing in for the Broker's ingress.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../adapters/redis-store/index.ts';
import { createEventFactory, EventTypes, type Lease, traceIdOf } from '../../functions/lib/events/index.ts';
import { samples } from '../../functions/lib/events/samples.ts';
import { type FunctionServer, startFunctionServer } from '../helpers/function-server.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { type Sink, startSink } from './sink-server.ts';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const prefix = `release-http-${process.pid}:`;

let redis: TestRedis;
let sink: Sink;
let fn: FunctionServer;
let store: Store;

beforeAll(async () => {
  [redis, sink] = await Promise.all([startTestRedis(), startSink()]);
  store = redis.store({ prefix });
  fn = await startFunctionServer('release-token', {
    env: {
      ...redis.env,
      HEAPDUMP_KEY_PREFIX: prefix,
      K_SINK: sink.url,
      HEAPDUMP_SINK_TIMEOUT_SECONDS: '2',
    },
  });
});
afterAll(async () => {
  await fn?.stop();
  await Promise.all([redis?.stop(), sink?.close()]);
});
beforeEach(() => {
  sink.posted.splice(0);
  sink.refused.splice(0);
  sink.answer(202);
});

async function send(event: CloudEvent<unknown>, mode: 'binary' | 'structured' = 'binary') {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  const response = await fetch(fn.url, {
    method: 'POST',
    headers: { ...(message.headers as Record<string, string>), traceparent },
    body: message.body as string,
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: await response.text() };
}

async function acquire(ttlMs?: number): Promise<{ dumpId: string; leases: Lease[] }> {
  const dumpId = randomUUID();
  const claims = (['dump', 'upload'] as const).map((pool) => ({ pool, leaseId: randomUUID(), ttlMs }));
  const result = await store.pools.acquire(claims, { dumpId, target: 'shop/checkout-7d9f8-abcde/app' });
  if (!result.ok) throw new Error(`no token left in ${result.pool}`);
  const leases = result.leases.map(({ pool, leaseId, fence }) => ({ pool, leaseId, fence }));
  // Bound to the container of the samples, as decide-dump binds it.
  const { uid, container } = samples[EventTypes.dumpUploaded].target;
  await store.pools.bindContainer(uid, container, dumpId, leases[0]!);
  return { dumpId, leases };
}

const held = async () => (await store.pools.holders('dump')).filter((h) => !h.expired);

describe('release-token over HTTP', () => {
  it('answers a dump.uploaded with 204 and posts token.released in binary mode on the same trace', async () => {
    const lease = await acquire();
    const uploaded = createEventFactory('upload-dump')(EventTypes.dumpUploaded, {
      ...samples[EventTypes.dumpUploaded],
      ...lease,
    });

    expect(await send(uploaded)).toEqual({ status: 204, body: '' });

    expect(await held()).toEqual([]);
    const target = samples[EventTypes.dumpUploaded].target;
    expect(await store.switches.dumpedBy(target.uid, target.container)).toBe(lease.dumpId);
    expect(sink.posted).toHaveLength(1);
    const [post] = sink.posted;
    expect(post?.headers['ce-type']).toBe(EventTypes.tokenReleased);
    expect(traceIdOf(post?.headers.traceparent as string)).toBe(traceIdOf(traceparent));
    expect(post?.event.data).toMatchObject({ leaseIds: lease.leases.map((l) => l.leaseId) });
  });

  it.each([
    ['a newline', 'vendor=1\nx-injected: yes'],
    ['600 characters', `vendor=${'x'.repeat(593)}`],
  ])(
    'drops a tracestate with %s (never copied into token.released) and settles as usual',
    async (_what, bad) => {
      const lease = await acquire();
      const uploaded = createEventFactory('upload-dump')(EventTypes.dumpUploaded, {
        ...samples[EventTypes.dumpUploaded],
        ...lease,
      });
      const forged = new CloudEvent({ ...uploaded.toJSON(), tracestate: bad }, false);
      expect(await send(forged, 'structured')).toEqual({ status: 204, body: '' });
      expect(await held()).toEqual([]);
      expect(sink.posted).toHaveLength(1);
      expect(sink.posted[0]!.event.tracestate).toBeUndefined();
    },
  );

  it('takes a dead letter with the knativeerror* extensions Knative adds, in structured mode too', async () => {
    const lease = await acquire();
    const captured = createEventFactory('exec-dump')(EventTypes.dumpCaptured, {
      ...samples[EventTypes.dumpCaptured],
      ...lease,
    });
    const dead = captured.cloneWith({
      knativeerrordest: 'http://upload-dump.heapdump.svc.cluster.local',
      knativeerrorcode: '503',
      knativeerrordata: Buffer.from('storage unavailable').toString('base64'),
    });

    expect((await send(dead, 'structured')).status).toBe(204);

    expect(await held()).toEqual([]);
    const record = await store.records.getDump(lease.dumpId);
    expect(record).toMatchObject({
      state: 'failed',
      fileKept: true,
      error: { stage: 'upload', code: 'dead-letter' },
    });
    expect(record?.error?.message).toContain(
      'upload-dump.heapdump.svc.cluster.local answered 503: storage unavailable',
    );
  });

  it('answers 503 while K_SINK refuses, and 204 with the post once it is back and a request waits', async () => {
    const lease = await acquire();
    const failed = createEventFactory('upload-dump')(EventTypes.dumpFailed, {
      ...samples[EventTypes.dumpFailed],
      ...lease,
    });
    sink.answer(503);
    const refused = await send(failed);
    expect(refused.status).toBe(503);
    expect(refused.body).toContain('refused dev.heapdump.token.released');

    await store.queue.enqueue({
      dumpId: randomUUID(),
      uid: randomUUID(),
      container: 'app',
      holder: 'x/y/app',
      payload: {},
    });
    sink.answer(202);
    expect((await send(failed)).status).toBe(204);
    expect(sink.posted.map((p) => p.event.id)).toEqual(sink.refused.slice(-1).map((p) => p.event.id));
    const popped = await store.queue.popIfAvailable([{ pool: 'dump', leaseId: randomUUID() }]);
    expect(popped.ok).toBe(true);
    if (popped.ok) await store.pools.release(popped.leases);
  });

  it('sweeps on the PingSource tick: an expired lease is reclaimed and announced', async () => {
    const lease = await acquire(50);
    await sleep(100);
    const tick = createEventFactory('ping')(EventTypes.sweep, {});

    expect((await send(tick)).status).toBe(204);

    expect(await store.pools.holders('dump')).toEqual([]);
    expect(sink.posted.map((p) => p.event.data)).toEqual([
      { pools: ['dump', 'upload'], leaseIds: lease.leases.map((l) => l.leaseId), reason: 'reclaimed' },
    ]);
  });

  it('refuses what it does not take: 422 for another type, 400 for a request that is no CloudEvent', async () => {
    const deferred = createEventFactory('decide-dump')(
      EventTypes.dumpDeferred,
      samples[EventTypes.dumpDeferred],
    );
    expect((await send(deferred)).status).toBe(422);
    const plain = await fetch(fn.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(plain.status).toBe(400);
  });
});
