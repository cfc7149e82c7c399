import type { Redis } from '@upstash/redis';
import type { PoolName } from '../../functions/lib/events/index.ts';
import { guarded } from './client.ts';
import type { Keys } from './keys.ts';

export interface PoolSettings {
  /** Tokens in the pool when the capacity key is unset (config seeds it; operators may change it). */
  capacity: number;
  leaseMs: number;
}

export interface StoreContext {
  redis: Redis;
  keys: Keys;
  /** Milliseconds since the epoch; injected so tests can fake time. */
  now: () => number;
  pools: Record<PoolName, PoolSettings>;
}

/** Runs a Lua script (EVALSHA, falling back to EVAL) and decodes its JSON answer. */
export function scriptRunner(redis: Redis) {
  const cache = new Map<string, ReturnType<Redis['createScript']>>();
  return async <T>(name: string, lua: string, keys: string[], args: (string | number)[]): Promise<T> => {
    let script = cache.get(lua);
    if (!script) {
      script = redis.createScript(lua);
      cache.set(lua, script);
    }
    const result = await guarded(name, () => script.exec(keys, args.map(String)));
    return (typeof result === 'string' && /^[[{]/.test(result) ? JSON.parse(result) : result) as T;
  };
}
export type RunScript = ReturnType<typeof scriptRunner>;
