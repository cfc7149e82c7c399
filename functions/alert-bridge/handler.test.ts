import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Services, startServices } from '../../test/broker/services.ts';
import seed from '../../test/decide/alertmanager-webhook.json' with { type: 'json' };
import { createEventFactory, EventTypes, parseEvent } from '../lib/events/index.ts';
import { createLogger } from '../lib/log.ts';
import { createSinkPoster } from '../lib/sink-poster.ts';
import { createAlertBridge } from './handler.ts';

const token = 'a-test-token-of-some-length';
const auth = { headers: { authorization: `Bearer ${token}` } };
let sinkStatus = 202;
let services: Services;
beforeAll(async () => {
  services = await startServices({ broker: () => ({ status: sinkStatus }) });
});
afterAll(() => services?.close());
beforeEach(() => {
  sinkStatus = 202;
  services.reset();
});

const bridge = () =>
  createAlertBridge({
    token,
    events: createEventFactory('alert-bridge'),
    postToSink: createSinkPoster(services.url('broker'), { timeoutMs: 2000 }),
    log: createLogger({ level: 'silent' }),
  });
const alert = (labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  ...seed.alerts[0],
  labels: { ...seed.alerts[0]!.labels, ...labels },
  ...extra,
});

describe('alert-bridge', () => {
  it('forwards the seed webhook as one alert.firing with id <fingerprint>:<startsAt>, binary mode', async () => {
    expect(await bridge()(auth, seed)).toEqual({
      forwarded: 1,
      dropped: { resolved: 0, noPod: 0, invalid: 0 },
    });
    const [received] = services.of('broker');
    expect(received!.headers['ce-type']).toBe(EventTypes.alertFiring);
    expect(received!.headers['content-type']).toBe('application/json');
    expect(received!.headers.traceparent).toBe(received!.event!.traceparent);
    const event = received!.event as CloudEvent<unknown>;
    expect(event.id).toBe('370261666f268ba9:2024-07-15T05:09:09.031Z');
    expect(event.source).toBe('/heapdump/alert-bridge');
    expect(event.subject).toBe('llm-demo/pod-description-writer-59b6b5d596-mfwbr');
    expect(parseEvent(event, [EventTypes.alertFiring]).data).toEqual({
      alertname: 'HighMemoryUsage',
      namespace: 'llm-demo',
      pod: 'pod-description-writer-59b6b5d596-mfwbr',
      severity: 'warning',
      startsAt: '2024-07-15T05:09:09.031Z',
      fingerprint: '370261666f268ba9',
      labels: seed.alerts[0]!.labels,
      annotations: seed.alerts[0]!.annotations,
      groupKey: seed.groupKey,
    });
  });

  it('counts and drops resolved, pod-less and invalid alerts without failing the batch', async () => {
    const webhook = {
      ...seed,
      alerts: [
        alert({ container: 'app' }),
        alert({}, { status: 'resolved' }),
        alert({ pod: '' }),
        alert({ pod: '../../etc/passwd' }),
        alert({ namespace: 'a;rm -rf /' }),
        alert({ pod: 'p'.repeat(10_000) }),
        alert({ container: 'App$(id)' }),
        alert({}, { fingerprint: '../x' }),
        'not an alert',
      ],
    };
    expect(await bridge()(auth, webhook)).toEqual({
      forwarded: 1,
      dropped: { resolved: 1, noPod: 1, invalid: 6 },
    });
    expect(
      services.of('broker').map((r) => (r.event?.data as { container?: string } | undefined)?.container),
    ).toEqual(['app']);
  });

  it('refuses a missing or wrong bearer token with 401, before reading the body', async () => {
    for (const headers of [{}, { authorization: `Bearer ${token}x` }, { authorization: token }]) {
      await expect(bridge()({ headers }, seed)).rejects.toMatchObject({ code: 401 });
    }
    expect(services.of('broker')).toEqual([]);
  });

  it('refuses what is not a webhook with 400, naming the problem', async () => {
    await expect(bridge()(auth, '{"alerts": [')).rejects.toMatchObject({
      code: 400,
      message: expect.stringContaining('not valid JSON'),
    });
    await expect(bridge()(auth, { alerts: 'many' })).rejects.toThrow(/alerts: .*array/);
    await expect(bridge()(auth, { ...seed, version: '3' })).rejects.toThrow(/version "4"/);
    await expect(bridge()(auth, undefined)).rejects.toThrow(/body is empty/);
    await expect(bridge()({ ...auth, cloudevent: {} }, seed)).rejects.toThrow(/not CloudEvents/);
  });

  it('answers 503 when the sink refuses, so Alertmanager sends the group again', async () => {
    sinkStatus = 500;
    await expect(bridge()(auth, seed)).rejects.toMatchObject({
      code: 503,
      message: expect.stringMatching(/1 of 1 alerts could not be forwarded/),
    });
  });
});

describe('a webhook with many alerts', () => {
  it('posts them with bounded concurrency, all of them', async () => {
    let inFlight = 0;
    let most = 0;
    const posted: string[] = [];
    const slowSink = async (event: CloudEvent<unknown>) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      posted.push(event.id);
      inFlight--;
    };
    const alerts = Array.from({ length: 60 }, (_, i) =>
      alert({ pod: `pod-${i}` }, { fingerprint: `fp${String(i).padStart(14, '0')}` }),
    );
    const many = createAlertBridge({
      token,
      events: createEventFactory('alert-bridge'),
      postToSink: slowSink,
      log: createLogger({ level: 'silent' }),
    });
    expect((await many(auth, { ...seed, alerts })).forwarded).toBe(60);
    expect(new Set(posted).size).toBe(60);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(8);
  });
});

describe('posting to K_SINK on a Broker that checks OIDC tokens', () => {
  it('sends the SinkBinding token from its file, read anew for every post (it is renewed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oidc-'));
    const tokenFile = join(dir, 'token');
    try {
      writeFileSync(tokenFile, 'first-token\n');
      const post = createSinkPoster(services.url('broker'), { timeoutMs: 2000, tokenFile });
      const events = createEventFactory('alert-bridge');
      await post(events(EventTypes.sweep, {}));
      writeFileSync(tokenFile, 'renewed-token');
      await post(events(EventTypes.sweep, {}));
      expect(services.of('broker').map((r) => r.headers.authorization)).toEqual([
        'Bearer first-token',
        'Bearer renewed-token',
      ]);
      rmSync(tokenFile);
      await post(events(EventTypes.sweep, {})); // no SinkBinding token (OIDC off): no header
      expect(services.of('broker').at(-1)?.headers.authorization).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
