import type { Redis } from '@upstash/redis';
import type { PoolName } from '../../functions/lib/events/index.ts';
import { createRedisClient } from './client.ts';
import { type PoolSettings, type StoreContext, scriptRunner } from './context.ts';
import { createKeys } from './keys.ts';
import { createPools } from './pools.ts';
import { createQueue } from './queue.ts';
import { createRecords } from './records.ts';
import { createSwitches } from './switches.ts';

export type {
  AcquireResult,
  GrantedLease,
  Holder,
  LeaseClaim,
  LeaseProof,
  LeaseProofClaim,
  ReleaseOutcome,
} from './pools.ts';
export type { EnqueueResult, PopResult, QueuedRequest } from './queue.ts';
export type { DumpRecord, DumpState } from './records.ts';
export type { DumpedSwitch } from './switches.ts';
export { createRedisClient };

export interface StoreOptions {
  redis: Redis;
  prefix?: string;
  now?: () => number;
  pools?: Partial<Record<PoolName, Partial<PoolSettings>>>;
  dedupeSeconds?: number;
  /** Dump records, the dumps index and upload states, after their last change (default 30 days). */
  recordRetentionMs?: number;
  /** A container's switch after its dump (default 90 days). */
  switchRetentionMs?: number;
}

const DAY_MS = 86_400_000;

const defaultPool: PoolSettings = { capacity: 1, leaseMs: 1_800_000 };

/** All shared state of the chain: token pools, the wait queue, switches, dedupe, dump records, checkpoints. */
export function createStore(options: StoreOptions) {
  const ctx: StoreContext = {
    redis: options.redis,
    keys: createKeys(options.prefix ?? 'heapdump:'),
    now: options.now ?? Date.now,
    pools: {
      dump: { ...defaultPool, ...options.pools?.dump },
      upload: { ...defaultPool, ...options.pools?.upload },
    },
  };
  const run = scriptRunner(ctx.redis);
  return {
    keys: ctx.keys,
    pools: createPools(ctx, run),
    queue: createQueue(ctx, run),
    switches: createSwitches(ctx, { switchMs: options.switchRetentionMs ?? 90 * DAY_MS }),
    records: createRecords(ctx, run, {
      dedupeSeconds: options.dedupeSeconds ?? 86_400,
      recordMs: options.recordRetentionMs ?? 30 * DAY_MS,
    }),
  };
}
export type Store = ReturnType<typeof createStore>;

/** The store as the functions build it from their config. */
export function storeFromConfig(config: {
  REDIS_REST_URL: string;
  REDIS_REST_TOKEN: string;
  HEAPDUMP_KEY_PREFIX: string;
  HEAPDUMP_DUMP_POOL_CAPACITY: number;
  HEAPDUMP_UPLOAD_POOL_CAPACITY: number;
  HEAPDUMP_LEASE_SECONDS: number;
  HEAPDUMP_DEDUPE_SECONDS: number;
  HEAPDUMP_RECORD_RETENTION_DAYS: number;
  HEAPDUMP_SWITCH_RETENTION_DAYS: number;
}): Store {
  const leaseMs = config.HEAPDUMP_LEASE_SECONDS * 1000;
  return createStore({
    redis: createRedisClient({ url: config.REDIS_REST_URL, token: config.REDIS_REST_TOKEN }),
    prefix: config.HEAPDUMP_KEY_PREFIX,
    pools: {
      dump: { capacity: config.HEAPDUMP_DUMP_POOL_CAPACITY, leaseMs },
      upload: { capacity: config.HEAPDUMP_UPLOAD_POOL_CAPACITY, leaseMs },
    },
    dedupeSeconds: config.HEAPDUMP_DEDUPE_SECONDS,
    recordRetentionMs: config.HEAPDUMP_RECORD_RETENTION_DAYS * DAY_MS,
    switchRetentionMs: config.HEAPDUMP_SWITCH_RETENTION_DAYS * DAY_MS,
  });
}
