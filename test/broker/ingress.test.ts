import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudEvent } from 'cloudevents';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBroker, startBroker, type TraceEntry } from '../../dev/broker/index.ts';
import {
  postEvent,
  type Received,
  replyWith,
  type Services,
  startServices,
  structuredReplyWith,
} from './services.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/eventing', import.meta.url));
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

let services: Services;
let broker: RunningBroker;
let workDir: string;
const traceFile = () => join(workDir, 'trace', 'broker.jsonl');

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'broker-ingress-'));
  services = await startServices({
    replier: (request) => {
      const answer = {
        id: `${request.event!.id}-answer`,
        type: 'test.answer',
        source: '/replier',
        data: { ok: 1 },
      };
      const mode = (request.event!.data as { mode?: string }).mode;
      return mode === 'structured'
        ? structuredReplyWith(new CloudEvent(answer))
        : replyWith(new CloudEvent(answer));
    },
    looper: () => replyWith(new CloudEvent({ type: 'test.loop', source: '/looper' })),
    recorder: () => ({ status: 204 }),
    hook: () => ({ status: 204 }),
    'filter-a': () => ({ status: 204 }),
    'filter-b': () => ({ status: 204 }),
    'filter-c': () => ({ status: 204 }),
    'dead-letters': () => ({ status: 202 }),
  });
  broker = await startBroker({
    eventingDir: FIXTURE,
    broker: 'default',
    resolve: services.resolver(),
    traceFile: traceFile(),
  });
});

afterEach(() => services.reset());

afterAll(async () => {
  await broker?.stop();
  await services?.close();
  await rm(workDir, { recursive: true, force: true });
});

function event(type: string, attributes: Record<string, unknown> = {}) {
  return new CloudEvent({ id: randomUUID(), type, source: '/test', data: { n: 1 }, ...attributes });
}

const withId = (requests: Received[], id: string) => requests.filter((r) => r.event?.id === id);
const traceIdOf = (traceparent: unknown) => String(traceparent).split('-')[1];

describe('ingress', () => {
  it('accepts a binary event with 202 and delivers it in binary mode, without the Broker TTL', async () => {
    const sent = event('test.trace', { subject: 'ns/pod/app', dumpid: 'd-1' });
    expect((await postEvent(broker.url, sent)).status).toBe(202);
    await broker.idle();
    const [delivered] = withId(services.of('recorder'), sent.id);
    expect(delivered?.event).toMatchObject({
      type: 'test.trace',
      source: '/test',
      subject: 'ns/pod/app',
      data: { n: 1 },
    });
    expect(delivered?.headers['ce-id']).toBe(sent.id);
    expect(delivered?.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(delivered?.headers['ce-knativearrivaltime']).toBeDefined();
    expect(delivered?.headers.prefer).toBe('reply');
  });

  it('accepts a structured event and delivers it in binary mode', async () => {
    const sent = event('test.trace');
    expect((await postEvent(broker.url, sent, { mode: 'structured' })).status).toBe(202);
    await broker.idle();
    const [delivered] = withId(services.of('recorder'), sent.id);
    expect(delivered?.headers['ce-type']).toBe('test.trace');
    expect(delivered?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(delivered!.body.toString())).toEqual({ n: 1 });
  });

  it('answers 400 to what is not a CloudEvent, 405 to other methods', async () => {
    const plain = await fetch(broker.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"alert":"firing"}',
    });
    expect(plain.status).toBe(400);
    const noSource = await fetch(broker.url, {
      method: 'POST',
      headers: { 'ce-id': '1', 'ce-type': 't', 'ce-specversion': '1.0' },
      body: '',
    });
    expect(noSource.status).toBe(400);
    expect(await noSource.text()).toMatch(/source/);
    for (const specversion of ['0.1', '0.3']) {
      const old = await fetch(broker.url, {
        method: 'POST',
        headers: { 'ce-id': '1', 'ce-type': 't', 'ce-source': '/x', 'ce-specversion': specversion },
        body: '',
      });
      expect(old.status, specversion).toBe(400);
      expect(await old.text()).toMatch(/specversion/);
    }
    expect((await fetch(broker.url)).status).toBe(405);
    expect(services.of('recorder')).toHaveLength(0);
  });

  it('sets knativebrokerttl to 255 on a new event and refuses one whose TTL is spent', async () => {
    const fresh = event('test.trace');
    await postEvent(broker.url, fresh);
    expect(broker.trace.entries().find((e) => e.eventId === fresh.id && e.kind === 'ingress')?.ttl).toBe(255);
    const spent = event('test.trace', { knativebrokerttl: 1 });
    expect((await postEvent(broker.url, spent)).status).toBe(400);
    await broker.idle();
    expect(withId(services.of('recorder'), spent.id)).toHaveLength(0);
    expect(broker.trace.entries().filter((e) => e.eventId === spent.id)).toMatchObject([
      { kind: 'dropped', error: 'knativebrokerttl exhausted' },
    ]);
  });
});

describe('filters', () => {
  it('delivers to every Trigger whose attributes all match exactly', async () => {
    const cases = [
      { extensions: {}, expected: ['filter-a'] },
      { extensions: { dumpid: 'd-1' }, expected: ['filter-a', 'filter-b', 'filter-c'] },
      { extensions: { dumpid: 'd-2' }, expected: ['filter-a', 'filter-c'] },
    ];
    for (const { extensions, expected } of cases) {
      const sent = event('test.filter', extensions);
      await postEvent(broker.url, sent);
      await broker.idle();
      const reached = ['filter-a', 'filter-b', 'filter-c'].filter(
        (s) => withId(services.of(s), sent.id).length > 0,
      );
      expect(reached, JSON.stringify(extensions)).toEqual(expected);
    }
  });

  it('serves only the Triggers of the Broker it was started for', async () => {
    const other = await startBroker({ eventingDir: FIXTURE, broker: 'other', resolve: services.resolver() });
    try {
      expect(other.triggers.map((t) => t.name)).toEqual(['catch-all']);
      expect(other.url).toMatch(/\/heapdump-test\/other$/);
      const sent = event('anything.at.all');
      await postEvent(other.url, sent);
      await other.idle();
      expect(withId(services.of('recorder'), sent.id)).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });

  it('resolves a subscriber uri relative to its ref', async () => {
    const sent = event('test.uri');
    await postEvent(broker.url, sent);
    await broker.idle();
    expect(withId(services.of('hook'), sent.id).map((r) => r.path)).toEqual(['/hook']);
  });
});

describe('replies', () => {
  it.each(['binary', 'structured'])(
    'publishes a %s reply back into the Broker, routed by its own type',
    async (mode) => {
      const asked = event('test.ask', { data: { mode } });
      await postEvent(broker.url, asked);
      await broker.idle();
      const [answer] = services.of('recorder');
      expect(answer?.event).toMatchObject({
        id: `${asked.id}-answer`,
        type: 'test.answer',
        source: '/replier',
      });
      const hops = broker.trace.entries().filter((e) => e.eventId === answer?.event?.id);
      expect(hops.map((h) => h.kind)).toEqual(['reply', 'ingress', 'attempt']);
      expect(hops[0]).toMatchObject({ causeId: asked.id, trigger: 'ask' });
      // The reply inherits the TTL of the event it answers (255) and loses one at ingress.
      expect(hops[1]?.ttl).toBe(254);
    },
  );

  it('ends a reply loop when the TTL is spent, dead-lettering the event whose reply was refused', async () => {
    const start = event('test.loop', { knativebrokerttl: 5 });
    await postEvent(broker.url, start);
    await broker.idle();
    expect(services.of('looper')).toHaveLength(4);
    const loop = broker.trace.entries().filter((e) => e.type === 'test.loop');
    expect(loop.filter((e) => e.kind === 'ingress').map((e) => e.ttl)).toEqual([4, 3, 2, 1]);
    expect(loop.filter((e) => e.kind === 'dropped')).toMatchObject([
      { source: '/looper', error: 'knativebrokerttl exhausted' },
    ]);
    expect(new Set(loop.map((e) => e.traceId)).size).toBe(1);
    const [dead] = services.of('dead-letters');
    expect(dead?.event?.id).toBe(services.of('looper')[3]?.event?.id);
    expect(String(dead?.event?.knativeerrorcode)).toBe('400');
    expect(dead?.event?.knativeerrordest).toBe(broker.url);
  });
});

describe('trace context', () => {
  it('propagates the traceparent header as a child span and passes tracestate along', async () => {
    const sent = event('test.trace');
    await postEvent(broker.url, sent, { headers: { traceparent: TRACEPARENT, tracestate: 'vendor=1' } });
    await broker.idle();
    const [delivered] = withId(services.of('recorder'), sent.id);
    expect(traceIdOf(delivered?.headers.traceparent)).toBe(traceIdOf(TRACEPARENT));
    expect(delivered?.headers.traceparent).not.toBe(TRACEPARENT);
    expect(delivered?.headers.tracestate).toBe('vendor=1');
  });

  it('takes the trace from the traceparent extension when the request has no header', async () => {
    const sent = event('test.trace', { traceparent: TRACEPARENT });
    await postEvent(broker.url, sent);
    await broker.idle();
    const [delivered] = withId(services.of('recorder'), sent.id);
    expect(traceIdOf(delivered?.headers.traceparent)).toBe(traceIdOf(TRACEPARENT));
  });

  it('links a whole chain of hops by one trace id, even when the first event had none', async () => {
    const asked = event('test.ask');
    await postEvent(broker.url, asked);
    await broker.idle();
    const answerId = `${asked.id}-answer`;
    const chain = broker.trace.entries().filter((e) => e.eventId === asked.id || e.eventId === answerId);
    expect(chain).toHaveLength(5);
    expect(new Set(chain.map((e) => e.traceId)).size).toBe(1);
    expect(chain[0]?.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('trace of hops', () => {
  it('emits every hop and appends it to the trace file as a JSON line', async () => {
    const seen: TraceEntry[] = [];
    const listener = (entry: TraceEntry) => seen.push(entry);
    broker.trace.on('entry', listener);
    const sent = event('test.trace', { subject: 'ns/pod/app', dumpid: 'd-7' });
    await postEvent(broker.url, sent, { headers: { traceparent: TRACEPARENT } });
    await broker.idle();
    broker.trace.off('entry', listener);
    expect(seen).toMatchObject([
      {
        kind: 'ingress',
        eventId: sent.id,
        type: 'test.trace',
        source: '/test',
        subject: 'ns/pod/app',
        dumpid: 'd-7',
        traceparent: TRACEPARENT,
        traceId: traceIdOf(TRACEPARENT),
        status: 202,
      },
      {
        kind: 'attempt',
        eventId: sent.id,
        trigger: 'traced',
        subscriber: services.url('recorder'),
        attempt: 1,
        status: 204,
        traceId: traceIdOf(TRACEPARENT),
        durationMs: expect.any(Number),
        queuedMs: expect.any(Number),
      },
    ]);
    const lines = (await readFile(traceFile(), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.filter((l) => l.eventId === sent.id)).toEqual(seen);
  });
});
