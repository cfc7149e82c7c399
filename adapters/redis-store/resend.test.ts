/**
 * The REST client resends a request whose answer it did not get, although Redis may have run it: every
 * store call that is not naturally idempotent must answer a resend as it answered the first time.
 * A proxy in front of the REST bridge lets the first matching request through and drops its answer.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';
import { createRedisClient, createStore } from './index.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

/** Forwards to the bridge; the first request whose body holds `needle` runs there, but its answer is lost. */
async function answerLostOnce(target: string, needle: string) {
  let dropped = 0;
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const forwarded = await fetch(`${target}${request.url}`, {
      method: 'POST',
      headers: Object.fromEntries(
        Object.entries(request.headers).filter(
          ([key]) => !['host', 'connection', 'content-length'].includes(key),
        ),
      ) as Record<string, string>,
      body,
    });
    const answer = Buffer.from(await forwarded.arrayBuffer());
    if (dropped === 0 && body.includes(needle)) {
      dropped++;
      request.socket.destroy(); // Redis ran it; the client never hears
      return;
    }
    response.writeHead(forwarded.status, Object.fromEntries(forwarded.headers)).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dropped: () => dropped,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

function storeBehind(url: string, prefix: string) {
  return createStore({
    redis: createRedisClient({ url, token: redis.token, retries: 3 }),
    prefix,
    pools: { dump: { capacity: 5 }, upload: { capacity: 5 } },
  });
}

describe('a request resent after its answer was lost', () => {
  it('pops the queue head once: the resend gets the same head, the next one keeps waiting', async () => {
    const prefix = `resend-${randomUUID().slice(0, 8)}:`;
    const direct = redis.store({ prefix, pools: { dump: { capacity: 5 }, upload: { capacity: 5 } } });
    // Loads the script into Redis, so the request whose answer is lost is the EVALSHA that ran it.
    expect(await direct.queue.popIfAvailable([{ pool: 'dump', leaseId: randomUUID() }])).toMatchObject({
      empty: true,
    });
    for (const dumpId of ['first', 'second'])
      await direct.queue.enqueue({
        dumpId,
        uid: `uid-${dumpId}`,
        container: 'app',
        holder: 'ns/p/app',
        payload: {},
      });
    const proxy = await answerLostOnce(redis.restUrl, `${prefix}request:`);
    try {
      const popped = await storeBehind(proxy.url, prefix).queue.popIfAvailable([
        { pool: 'dump', leaseId: randomUUID() },
        { pool: 'upload', leaseId: randomUUID() },
      ]);
      expect(proxy.dropped()).toBe(1);
      expect(popped).toMatchObject({ ok: true, dumpId: 'first' });
      expect(await direct.queue.length()).toBe(1);
      expect(await direct.pools.holders('dump')).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('claims an event once, and the resend of that claim is still the claimant', async () => {
    const prefix = `resend-${randomUUID().slice(0, 8)}:`;
    const proxy = await answerLostOnce(redis.restUrl, `${prefix}seen:`);
    try {
      const store = storeBehind(proxy.url, prefix);
      expect(await store.records.claimEvent('/heapdump/test', 'event-1')).toBe(true);
      expect(proxy.dropped()).toBe(1);
      expect(await store.records.claimEvent('/heapdump/test', 'event-1')).toBe(false); // a real duplicate
    } finally {
      await proxy.close();
    }
  });
});
