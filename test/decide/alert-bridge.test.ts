import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventTypes, parseEvent } from '../../functions/lib/events/index.ts';
import { type Services, startServices } from '../broker/services.ts';
import { startAlertmanager, type TestAlertmanager } from '../helpers/alertmanager.ts';
import { type FunctionServer, startFunctionServer } from '../helpers/function-server.ts';
import seed from './alertmanager-webhook.json' with { type: 'json' };

const token = randomBytes(16).toString('hex');
const bodyLimit = 256 * 1024;
let sinkStatus = 202;
let sink: Services;
let bridge: FunctionServer;
let alertmanager: TestAlertmanager | undefined;

beforeAll(async () => {
  sink = await startServices({ broker: () => ({ status: sinkStatus }) });
  bridge = await startFunctionServer('alert-bridge', {
    env: { ALERT_BRIDGE_TOKEN: token, K_SINK: sink.url('broker') },
    bodyLimit,
  });
});
afterAll(async () => {
  await alertmanager?.stop();
  await bridge?.stop();
  await sink?.close();
});
beforeEach(() => {
  sinkStatus = 202;
  sink.reset();
});

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(bridge.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body,
  });

async function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('alert-bridge over HTTP (faas-js-runtime)', () => {
  it('answers 200 with what it forwarded and dropped', async () => {
    const resolved = { ...seed.alerts[0], status: 'resolved' };
    const response = await post(JSON.stringify({ ...seed, alerts: [seed.alerts[0], resolved] }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ forwarded: 1, dropped: { resolved: 1, noPod: 0, invalid: 0 } });
    expect(sink.of('broker').map((r) => r.event?.id)).toEqual(['370261666f268ba9:2024-07-15T05:09:09.031Z']);
  });

  it('refuses a bad token with 401, malformed JSON with 400 and an oversized body with 413', async () => {
    const unauthorised = await post(JSON.stringify(seed), { authorization: 'Bearer guess' });
    expect(unauthorised.status).toBe(401);
    expect(await unauthorised.text()).toMatch(/bearer token/);
    const malformed = await post('{"alerts": [');
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toMatch(/JSON/);
    const oversized = await post(JSON.stringify({ ...seed, padding: 'x'.repeat(bodyLimit) }));
    expect(oversized.status).toBe(413);
    expect(await oversized.text()).toMatch(/Request body is too large/);
    expect(sink.of('broker')).toEqual([]);
  });

  it('answers 503 when the sink is down', async () => {
    sinkStatus = 503;
    const response = await post(JSON.stringify(seed));
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/could not be forwarded/);
  });
});

describe('alert-bridge behind a real Alertmanager', () => {
  it('turns a firing alert into a dev.heapdump.alert.firing CloudEvent at the sink', async () => {
    alertmanager = await startAlertmanager({ webhookUrl: bridge.url, bearerToken: token });
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    await alertmanager.postAlerts([
      {
        labels: {
          alertname: 'HighMemoryUsage',
          namespace: 'shop',
          pod: 'checkout-7d9f8-abcde',
          severity: 'warning',
        },
        annotations: { summary: 'High Memory Usage' },
        startsAt,
      },
      { labels: { alertname: 'NodeDown', instance: 'node-1' }, startsAt },
    ]);
    const received = await until(() => sink.of('broker')[0], 20_000, 'the alert to reach the sink');
    const event = received.event!;
    expect(event.type).toBe(EventTypes.alertFiring);
    expect(event.source).toBe('/heapdump/alert-bridge');
    expect(event.subject).toBe('shop/checkout-7d9f8-abcde');
    const data = parseEvent(event, [EventTypes.alertFiring]).data;
    expect(data).toMatchObject({
      alertname: 'HighMemoryUsage',
      namespace: 'shop',
      pod: 'checkout-7d9f8-abcde',
      severity: 'warning',
      annotations: { summary: 'High Memory Usage' },
    });
    expect(Date.parse(data.startsAt)).toBe(Date.parse(startsAt));
    expect(event.id).toBe(`${data.fingerprint}:${data.startsAt}`);
    expect(data.groupKey).toContain('checkout-7d9f8-abcde');
    // The pod-less alert is its own group: counted and dropped, never forwarded.
    await sleep(1500);
    expect(sink.of('broker')).toHaveLength(1);
  });
});
