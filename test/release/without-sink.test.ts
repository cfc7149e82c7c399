/**
 * A SinkBinding injects K_SINK only once it is applied, after the functions are deployed (docs/deploy.md):
 * alert-bridge and release-token must start and pass their probes without it, and answer 503 naming the
 * SinkBinding for a request that needs the sink, so the sender retries until the binding is there.
 */
import { randomBytes } from 'node:crypto';
import { HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import seed from '../decide/alertmanager-webhook.json' with { type: 'json' };
import { type FunctionServer, startFunctionServer } from '../helpers/function-server.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { sweepTick } from './fixture.ts';

const token = randomBytes(16).toString('hex');
let redis: TestRedis;
let bridge: FunctionServer;
let release: FunctionServer;

beforeAll(async () => {
  redis = await startTestRedis();
  const env = { K_SINK: undefined, K_SINK_FILE: undefined };
  [bridge, release] = await Promise.all([
    startFunctionServer('alert-bridge', { env: { ...env, ALERT_BRIDGE_TOKEN: token } }),
    startFunctionServer('release-token', {
      env: { ...env, ...redis.env, HEAPDUMP_KEY_PREFIX: `nosink-${process.pid}:` },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([bridge?.stop(), release?.stop()]);
  await redis?.stop();
});

describe('a function whose SinkBinding is not applied yet', () => {
  it.each(['alert-bridge', 'release-token'])('%s starts and answers its probes', async (name) => {
    const fn = name === 'alert-bridge' ? bridge : release;
    // faas-js-runtime's probes answer 503 while the event loop lags (under-pressure), as right after a
    // start on a busy machine; the kubelet tries again (failureThreshold), so does this.
    for (const probe of ['health/readiness', 'health/liveness']) {
      const status = () =>
        fetch(new URL(probe, fn.url), { signal: AbortSignal.timeout(5_000) }).then((r) => r.status);
      await expect.poll(status, { timeout: 15_000, interval: 250 }).toBe(200);
    }
  });

  it('alert-bridge answers a webhook 503, naming the missing SinkBinding', async () => {
    const response = await fetch(bridge.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(seed),
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/K_SINK.*SinkBinding alert-bridge/s);
  });

  it('release-token answers a sweep 503, naming the missing SinkBinding', async () => {
    // A sweep that freed a lease posts token.released: hold one that has expired already.
    const store = redis.store({ prefix: `nosink-${process.pid}:` });
    await store.pools.acquire([{ pool: 'dump', leaseId: randomBytes(8).toString('hex'), ttlMs: 1 }], {
      dumpId: 'dump-nosink01',
      target: 'shop/api-1/app',
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const message = HTTP.binary(sweepTick());
    const response = await fetch(release.url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(503);
    expect(await response.text()).toMatch(/K_SINK.*SinkBinding release-token/s);
  });
});
