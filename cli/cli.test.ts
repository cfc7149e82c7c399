import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../test/helpers/redis.ts';

const run = promisify(execFile);
let redis: TestRedis;
let prefix = 0;

beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

/** Runs the real CLI in its own process against an isolated key prefix. */
async function heapdump(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
      env: { ...process.env, HEAPDUMP_ENV_FILE: '/nonexistent', ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function isolated() {
  const keyPrefix = `cli${++prefix}:`;
  const store = redis.store({ prefix: keyPrefix });
  const env = { ...redis.env, HEAPDUMP_KEY_PREFIX: keyPrefix };
  return { store, env, cli: (args: string[]) => heapdump(args, env) };
}

// Each case starts the real CLI several times; on a loaded 2-core machine one start can take seconds.
describe('heapdump CLI', { timeout: 120_000 }, () => {
  it('switch turns the global switch off and on; status shows it, tokens and the queue', async () => {
    const { store, cli } = isolated();
    expect((await cli(['switch', 'off'])).code).toBe(0);
    expect(await store.switches.isGlobalOn()).toBe(false);
    await store.pools.acquire([{ pool: 'dump', leaseId: 'lease-0000-aaaa' }], {
      dumpId: 'dump-held0001',
      target: 'shop/api-1/app',
    });
    await store.queue.enqueue({
      dumpId: 'dump-wait0001',
      uid: 'u1',
      container: 'app',
      holder: 'x',
      payload: {},
    });

    const text = await cli(['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('global switch: off');
    expect(text.stdout).toMatch(/dump tokens: 1\/1 held/);
    expect(text.stdout).toMatch(/lease-0000-aaaa\s+dump-held0001\s+shop\/api-1\/app\s+\d+s/);
    expect(text.stdout).toMatch(/queue: 1 waiting/);

    const json = JSON.parse((await cli(['status', '--json'])).stdout);
    expect(json.global).toBe('off');
    expect(json.pools[0]).toMatchObject({
      pool: 'dump',
      capacity: 1,
      holders: [{ dumpId: 'dump-held0001' }],
    });
    expect(json.queue).toEqual([{ dumpId: 'dump-wait0001', position: 1, payload: {} }]);

    expect((await cli(['switch', 'on'])).code).toBe(0);
    expect(await store.switches.isGlobalOn()).toBe(true);
    const bad = await cli(['switch', 'maybe']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('state must be "on" or "off"');
  });

  it('reset turns one container switch back on by name, or all', async () => {
    const { store, cli } = isolated();
    await store.switches.markDumped('uid-1', 'app', 'dump-one00001');
    await store.records.updateDump('dump-one00001', { state: 'uploaded', target: 'shop/api-1/app' });
    await store.switches.markDumped('uid-2', 'app', 'dump-two00001');
    await store.records.updateDump('dump-two00001', { state: 'uploaded', target: 'shop/api-2/app' });

    const one = await cli(['reset', '--container', 'shop/api-1/app']);
    expect(one.stdout).toContain('reset 1 switch(es) for shop/api-1/app');
    expect(await store.switches.dumpedBy('uid-1', 'app')).toBeNull();
    expect(await store.switches.dumpedBy('uid-2', 'app')).toBe('dump-two00001');
    expect((await cli(['reset', '--container', 'shop/../x'])).code).toBe(2);
    expect((await cli(['reset'])).stdout).toContain('reset 1 container switch(es)');
    expect(await store.switches.listDumped()).toEqual([]);
  });

  it('list shows recent dumps, as a table and as JSON', async () => {
    const { store, cli } = isolated();
    await store.records.updateDump('dump-list0001', {
      state: 'uploaded',
      target: 'shop/api-1/app',
      rawBytes: 2 * 1024 ** 3,
      storedBytes: 700 * 1024 ** 2,
      location: 'file:///dumps/x.hprof.gz',
    });
    const text = await cli(['list']);
    expect(text.stdout).toMatch(
      /dump-list0001\s+uploaded\s+shop\/api-1\/app\s+2\.0 GiB\s+700\.0 MiB\s+file:\/\/\/dumps/,
    );
    expect(JSON.parse((await cli(['list', '--json'])).stdout)[0]).toMatchObject({ dumpId: 'dump-list0001' });
  });

  it('watch follows an upload to the end and exits 0, or 1 when it fails', async () => {
    const { store, cli } = isolated();
    await store.records.updateDump('dump-watch001', { state: 'uploading', bytesDone: 0, bytesTotal: 1000 });
    const watching = cli(['watch', 'dump-watch001', '--interval', '50']);
    for (const done of [250, 500, 750]) {
      await new Promise((r) => setTimeout(r, 150));
      await store.records.updateDump('dump-watch001', { bytesDone: done, rateBytesPerSec: 5000 });
    }
    await store.records.updateDump('dump-watch001', {
      state: 'uploaded',
      bytesDone: 1000,
      location: 'file:///x',
    });
    const finished = await watching;
    expect(finished.code).toBe(0);
    expect(finished.stdout).toContain('stored at file:///x');

    await store.records.updateDump('dump-watch002', {
      state: 'failed',
      error: { stage: 'upload', code: 'storage-full', message: 'no space left' },
    });
    const failed = await cli(['watch', 'dump-watch002']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('failed at upload: no space left');
    expect((await cli(['watch', 'not a dump id'])).code).toBe(2);
  });

  it('trigger sends dump.requested to the Broker and prints the equivalent curl', async () => {
    const received: { headers: IncomingMessage['headers']; body: string }[] = [];
    const broker = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(broker.address() as AddressInfo).port}`;
    try {
      const result = await heapdump(['trigger', 'shop/api-1', '-c', 'app', '--force'], {
        HEAPDUMP_BROKER_URL: url,
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`curl -X POST '${url}'`);
      expect(received).toHaveLength(1);
      const event = HTTP.toEvent({ headers: received[0]!.headers, body: received[0]!.body }) as {
        type: string;
        data: unknown;
      };
      expect(event.type).toBe('dev.heapdump.dump.requested');
      expect(event.data).toEqual({
        namespace: 'shop',
        pod: 'api-1',
        container: 'app',
        reason: 'manual',
        force: true,
      });

      const invalid = await heapdump(['trigger', 'shop/Bad_Pod'], { HEAPDUMP_BROKER_URL: url });
      expect(invalid.code).toBe(2);
      expect(invalid.stderr).toMatch(/pod: must be a DNS-1123 subdomain/);
      expect(received).toHaveLength(1);
      expect(received[0]!.headers.authorization).toBeUndefined();

      // A Broker locked by an EventPolicy (docs/deploy.md 5a) wants the operator's token.
      const locked = await heapdump(['trigger', 'shop/api-1'], {
        HEAPDUMP_BROKER_URL: url,
        HEAPDUMP_BROKER_TOKEN: 'operator-token',
      });
      expect(locked.code).toBe(0);
      expect(received[1]!.headers.authorization).toBe('Bearer operator-token');
      expect(locked.stdout).toContain('-H "Authorization: Bearer $HEAPDUMP_BROKER_TOKEN"');
      expect(locked.stdout).not.toContain('operator-token');
    } finally {
      broker.close();
    }
  });

  it('says clearly when the stack is not reachable, with exit code 3', async () => {
    const missing = await heapdump(['status'], { REDIS_REST_URL: '', REDIS_REST_TOKEN: '' });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/REDIS_REST_URL is not set.*heapdump dev/);
    const down = await heapdump(['status'], { REDIS_REST_URL: 'http://127.0.0.1:9', REDIS_REST_TOKEN: 'x' });
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/redis unavailable/);
    const noBroker = await heapdump(['trigger', 'shop/api-1'], { HEAPDUMP_BROKER_URL: 'http://127.0.0.1:9' });
    expect(noBroker.code).toBe(3);
  });
});
