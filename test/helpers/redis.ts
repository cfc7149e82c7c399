import { randomBytes } from 'node:crypto';
import { createRedisClient, createStore, type StoreOptions } from '../../adapters/redis-store/index.ts';
import { startRedisServer } from '../../dev/redis-bridge/redis-server.ts';
import { startRedisBridge } from '../../dev/redis-bridge/server.ts';

export interface TestRedis {
  /** The redis:// URL of the real redis-server. */
  redisUrl: string;
  /** The REST bridge @upstash/redis talks to, and its token. */
  restUrl: string;
  token: string;
  /** Env the functions read to reach this Redis. */
  env: Record<string, string>;
  /** A store through the real client (or the one given); a fresh key prefix per call keeps tests apart. */
  store(options?: Partial<StoreOptions>): ReturnType<typeof createStore>;
  stopRedis(): Promise<void>;
  stop(): Promise<void>;
}

/** A real redis-server on a free loopback port behind the REST bridge; stop() ends both. */
export async function startTestRedis(): Promise<TestRedis> {
  const server = await startRedisServer();
  const token = randomBytes(16).toString('hex');
  const bridge = await startRedisBridge({ redisUrl: server.url, token });
  let prefixes = 0;
  return {
    redisUrl: server.url,
    restUrl: bridge.url,
    token,
    env: { REDIS_REST_URL: bridge.url, REDIS_REST_TOKEN: token },
    store: (options = {}) =>
      createStore({
        redis: createRedisClient({ url: bridge.url, token, retries: 0 }),
        prefix: `t${process.pid}-${++prefixes}:`,
        ...options,
      }),
    stopRedis: () => server.stop(),
    stop: async () => {
      await bridge.close();
      await server.stop();
    },
  };
}
