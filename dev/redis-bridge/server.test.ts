import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../adapters/redis-store/index.ts';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

const post = (path: string, body: string, token = redis.token) =>
  fetch(`${redis.restUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });

describe('redis REST bridge', () => {
  it('serves the real @upstash/redis client: strings, hashes, pipelines, transactions, scripts', async () => {
    const client = createRedisClient({ url: redis.restUrl, token: redis.token });
    await client.set('bridge:s', 'héllo wörld');
    expect(await client.get('bridge:s')).toBe('héllo wörld');
    await client.hset('bridge:h', { a: '1', b: 'two' });
    expect(await client.hgetall('bridge:h')).toEqual(['a', '1', 'b', 'two']);
    const pipeline = client.pipeline();
    pipeline.incr('bridge:n');
    pipeline.incr('bridge:n');
    pipeline.get('bridge:n');
    expect(await pipeline.exec()).toEqual([1, 2, '2']);
    const tx = client.multi();
    tx.set('bridge:t', 'x');
    tx.get('bridge:t');
    expect(await tx.exec()).toEqual(['OK', 'x']);
    const script = client.createScript<string>("return redis.call('GET', KEYS[1]) .. ARGV[1]");
    expect(await script.exec(['bridge:t'], ['!'])).toBe('x!');
  });

  it('answers 401 to a missing or wrong token', async () => {
    expect((await post('/', '["PING"]', 'wrong')).status).toBe(401);
    const res = await fetch(redis.restUrl, { method: 'POST', body: '["PING"]' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'Unauthorized' });
  });

  it('answers 400 with a JSON error to malformed commands and keeps serving', async () => {
    for (const body of ['not json', '{"a":1}', '[]', '[["nested"]]', '[null]']) {
      const res = await post('/', body);
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatch(/JSON|command/);
    }
    const redisError = await post('/', '["NOSUCHCOMMAND","x"]');
    expect(redisError.status).toBe(400);
    expect((await redisError.json()).error).toMatch(/unknown command/i);
    const pipeline = await post('/pipeline', '[["SET","k","v"],["INCR","k"],["GET","k"]]');
    expect(await pipeline.json()).toEqual([
      { result: 'OK' },
      { error: expect.stringMatching(/not an integer/) },
      { result: 'v' },
    ]);
    expect(await (await post('/', '["PING"]')).json()).toEqual({ result: 'PONG' });
  });

  it('encodes results as base64 when asked, like Upstash', async () => {
    await post('/', '["SET","b64","abc"]');
    const res = await fetch(redis.restUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${redis.token}`, 'upstash-encoding': 'base64' },
      body: '["GET","b64"]',
    });
    expect(await res.json()).toEqual({ result: Buffer.from('abc').toString('base64') });
  });
});
