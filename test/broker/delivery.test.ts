import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CloudEvent } from 'cloudevents';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadTriggers, type Reference, type RunningBroker, startBroker } from '../../dev/broker/index.ts';
import { freePort } from '../../dev/free-port.ts';
import { gaps, postEvent, type Received, replyWith, type Services, startServices } from './services.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/eventing', import.meta.url));
// The Broker's planned waits are asserted exactly (retryInMs in the trace); the gaps measured at the subscriber
// only bound them, since timers never fire early but a loaded 2-core machine delays requests a lot.
const SLACK_MS = 600;

let services: Services;
let broker: RunningBroker;

beforeAll(async () => {
  services = await startServices({
    flaky: (_request, count) => (count <= 2 ? { status: 500, body: 'not yet' } : { status: 204 }),
    failing: () => ({ status: 503, body: 'storage down' }),
    status: (request) => ({ status: (request.event!.data as { status: number }).status }),
    slow: () => ({ status: 204, delayMs: 1_000 }),
    'slow-ok': () => ({ status: 204, delayMs: 300 }),
    'not-cloudevent': () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"ok":true}',
    }),
    'big-error': () => ({ status: 500, body: 'x'.repeat(3_000) }),
    'dead-letters': () => ({ status: 202 }),
    'replying-sink': () => replyWith(new CloudEvent({ type: 'test.answer', source: '/replying-sink' })),
    recorder: () => ({ status: 204 }),
  });
  const closed = `http://127.0.0.1:${await freePort()}/closed`;
  broker = await startBroker({
    eventingDir: FIXTURE,
    broker: 'default',
    resolve: services.resolver({ closed }),
  });
});

afterEach(() => services.reset());

afterAll(async () => {
  await broker?.stop();
  await services?.close();
});

function event(type: string, data: Record<string, unknown> = {}) {
  return new CloudEvent({
    id: randomUUID(),
    type,
    source: '/test',
    datacontenttype: 'application/json',
    data,
  });
}

async function send(type: string, data?: Record<string, unknown>) {
  const sent = event(type, data);
  const response = await postEvent(broker.url, sent);
  expect(response.status).toBe(202);
  await broker.idle();
  return sent;
}

const withId = (requests: Received[], id: string) => requests.filter((r) => r.event?.id === id);
const hops = (id: string, kind?: string) =>
  broker.trace.entries().filter((e) => e.eventId === id && (kind === undefined || e.kind === kind));
const decoded = (base64: unknown) => Buffer.from(String(base64), 'base64').toString();

function expectBackoff(id: string, expected: number[]) {
  const attempts = hops(id, 'attempt');
  expect(attempts.slice(0, -1).map((h) => h.retryInMs)).toEqual(expected);
  expect(attempts.at(-1)?.retryInMs).toBeUndefined();
}

function expectGaps(requests: Received[], expected: number[]) {
  const measured = gaps(requests);
  expect(measured).toHaveLength(expected.length);
  measured.forEach((gap, i) => {
    expect(gap).toBeGreaterThanOrEqual(expected[i]! - 2);
    expect(gap).toBeLessThan(expected[i]! + SLACK_MS);
  });
}

describe('retries', () => {
  it('retries a 500 until the subscriber recovers, waiting delay·2^(n-1) before retry n', async () => {
    const sent = await send('test.flaky');
    const attempts = withId(services.of('flaky'), sent.id);
    expect(attempts).toHaveLength(3);
    expectBackoff(sent.id, [100, 200]);
    expectGaps(attempts, [100, 200]);
    expect(hops(sent.id, 'attempt').map((h) => [h.attempt, h.status])).toEqual([
      [1, 500],
      [2, 500],
      [3, 204],
    ]);
    expect(services.of('dead-letters')).toHaveLength(0);
  });

  it('waits delay·(n-1) with linear backoff and gives up after retry + 1 attempts', async () => {
    const sent = await send('test.linear');
    const attempts = withId(services.of('failing'), sent.id);
    expect(attempts).toHaveLength(4);
    expectBackoff(sent.id, [0, 100, 200]);
    expectGaps(attempts, [0, 100, 200]);
  });

  it('retries 5xx, 404, 408, 409 and 429 but never 3xx or other 4xx', async () => {
    const retried = [404, 408, 409, 429, 500, 503];
    const final = [300, 400, 401, 403, 422];
    const sent = await Promise.all(
      [...retried, ...final].map(async (status) => {
        const e = event('test.status', { status });
        expect((await postEvent(broker.url, e)).status).toBe(202);
        return { status, id: e.id };
      }),
    );
    await broker.idle();
    for (const { status, id } of sent) {
      expect(withId(services.of('status'), id), `status ${status}`).toHaveLength(
        retried.includes(status) ? 2 : 1,
      );
    }
  });

  it('takes the Broker’s delivery whole when the Trigger has none', async () => {
    const sent = await send('test.inherit');
    const attempts = withId(services.of('failing'), sent.id);
    expect(attempts).toHaveLength(3);
    expectBackoff(sent.id, [100, 200]);
    expectGaps(attempts, [100, 200]);
    expect(withId(services.of('dead-letters'), sent.id)).toHaveLength(1);
  });
});

describe('dead letters', () => {
  it('sends the original event with knativeerrordest, knativeerrorcode and knativeerrordata', async () => {
    const sent = await send('test.linear', { dumpId: 'd-9' });
    const [dead] = withId(services.of('dead-letters'), sent.id);
    expect(dead?.event).toMatchObject({ type: 'test.linear', source: '/test', data: { dumpId: 'd-9' } });
    expect(dead?.event?.knativeerrordest).toBe(services.url('failing'));
    expect(String(dead?.event?.knativeerrorcode)).toBe('503');
    expect(decoded(dead?.event?.knativeerrordata)).toBe('storage down');
    expect(dead?.headers.prefer).toBeUndefined();
    expect(hops(sent.id, 'dead-letter')).toMatchObject([
      { status: 202, subscriber: services.url('dead-letters') },
    ]);
  });

  it('dead-letters a 400 or 422 at once, without retrying', async () => {
    for (const status of [400, 422]) {
      const sent = await send('test.status', { status });
      expect(withId(services.of('status'), sent.id)).toHaveLength(1);
      const [dead] = withId(services.of('dead-letters'), sent.id);
      expect(String(dead?.event?.knativeerrorcode)).toBe(String(status));
    }
  });

  it('cuts knativeerrordata at 1024 base64 characters', async () => {
    const sent = await send('test.bigerror');
    const [dead] = withId(services.of('dead-letters'), sent.id);
    const data = String(dead?.event?.knativeerrordata);
    expect(data).toHaveLength(1024);
    expect(decoded(data)).toBe('x'.repeat(768));
  });

  it('counts a refused connection as 500 with a "dispatch error" body', async () => {
    const sent = await send('test.refused');
    const attempts = hops(sent.id, 'attempt');
    expect(attempts).toHaveLength(2);
    expect(attempts[0]?.error).toMatch(/ECONNREFUSED/);
    const [dead] = withId(services.of('dead-letters'), sent.id);
    expect(String(dead?.event?.knativeerrorcode)).toBe('500');
    expect(decoded(dead?.event?.knativeerrordata)).toMatch(/^dispatch error: .*ECONNREFUSED/);
  });

  it('drops the sink’s own reply', async () => {
    const sent = await send('test.dlsreply');
    expect(withId(services.of('replying-sink'), sent.id)).toHaveLength(1);
    expect(broker.trace.entries().filter((e) => e.source === '/replying-sink')).toEqual([]);
    expect(services.of('recorder')).toHaveLength(0);
  });

  it('records a drop when the Trigger has no dead-letter sink', async () => {
    const sent = await send('test.nodls');
    expect(hops(sent.id, 'dropped')).toMatchObject([
      { trigger: 'no-dead-letter', status: 503, error: expect.stringMatching(/no deadLetterSink/) },
    ]);
  });

  it('records a drop when the subscriber is not resolved', async () => {
    const sent = await send('test.unresolved');
    expect(hops(sent.id, 'dropped')).toMatchObject([
      { trigger: 'unresolved', error: 'subscriber Service/nowhere is not resolved' },
    ]);
  });
});

describe('per-attempt timeout and replies that are not events', () => {
  it('abandons an attempt after delivery.timeout and dead-letters without error extensions', async () => {
    const started = performance.now();
    const sent = await send('test.slow');
    // Two attempts waiting out the subscriber's full second would take over 2 s.
    expect(performance.now() - started).toBeLessThan(1_800);
    const attempts = hops(sent.id, 'attempt');
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) {
      expect(attempt.error).toBe('timed out after 100 ms');
      expect(attempt.durationMs).toBeGreaterThanOrEqual(99);
      expect(attempt.durationMs).toBeLessThan(100 + SLACK_MS);
    }
    const [dead] = withId(services.of('dead-letters'), sent.id);
    expect(dead?.event?.type).toBe('test.slow');
    expect(dead?.event?.knativeerrorcode).toBeUndefined();
  });

  it('counts a 2xx whose body is not a CloudEvent as 502: retried, then dead-lettered', async () => {
    const sent = await send('test.notce');
    expect(hops(sent.id, 'attempt').map((h) => h.status)).toEqual([502, 502, 502]);
    const [dead] = withId(services.of('dead-letters'), sent.id);
    expect(dead?.event?.knativeerrorcode).toBeUndefined();
  });
});

describe('concurrency', () => {
  it('answers 202 before delivering, and delivers several events to several Triggers in parallel', async () => {
    const sent = [1, 2, 3].map(() => event('test.fanout'));
    const answered = await Promise.all(
      sent.map(async (e) => {
        const response = await postEvent(broker.url, e);
        // The subscriber takes 300 ms, so no attempt can have finished when ingress answers.
        return { status: response.status, attemptsDone: hops(e.id, 'attempt').length };
      }),
    );
    expect(answered).toEqual(sent.map(() => ({ status: 202, attemptsDone: 0 })));
    await broker.idle();
    const deliveries = services.of('slow-ok');
    expect(deliveries).toHaveLength(6);
    // All six were in flight together: the last arrived before the first could have been answered.
    const arrivals = deliveries.map((r) => r.at);
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeLessThan(300);
  });
});

describe('stop', () => {
  it('ends a delivery waiting in backoff at once, and resolves refs through a resolver function', async () => {
    const asked: Reference[] = [];
    const triggers = await loadTriggers(`apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: patient, namespace: ns-1 }
spec:
  broker: default
  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: failing } }
  delivery: { retry: 5, backoffPolicy: exponential, backoffDelay: PT10S }
`);
    const patient = await startBroker({
      triggers,
      resolve: (ref) => {
        asked.push(ref);
        return services.url(ref.name);
      },
    });
    const sent = event('anything');
    await postEvent(patient.url, sent);
    await vi.waitFor(() => expect(withId(services.of('failing'), sent.id)).toHaveLength(1), {
      timeout: 5_000,
    });
    const started = performance.now();
    await patient.stop();
    // The next retry is 10 s away.
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(asked).toEqual([
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'failing', namespace: 'ns-1' },
    ]);
    expect(patient.trace.entries().map((e) => e.kind)).toEqual(['ingress', 'attempt']);
    await expect(fetch(patient.url, { method: 'POST' })).rejects.toThrow();
  });
});
