import { type Clock, systemClock } from './clock.ts';

export interface RateLimiter {
  /** Resolves when `bytes` may be sent without exceeding the rate. */
  take(bytes: number): Promise<void>;
}

export interface TokenBucketOptions {
  bytesPerSecond: number;
  /**
   * Most bytes that may go out at once after an idle spell (default 250 ms worth). Time the pipeline
   * spends behind (a late timer, a stall in the sink, a busy CPU) is made up from the bucket rather than
   * lost, up to this much; measured here, 20 ms worth left a loaded 2-core machine 10 % under the cap.
   */
  burstBytes?: number;
  clock?: Clock;
}

/** 200 Mbit/s, the seed's `sftp -l 204800`. */
export const DEFAULT_BYTES_PER_SECOND = (200 * 1_000_000) / 8;

/**
 * Token bucket that may go into debt: a request larger than the bucket is granted at once and the
 * caller waits until the debt is paid off, so any chunk size works and the long-run rate is exact.
 */
export function createTokenBucket(options: TokenBucketOptions): RateLimiter {
  const clock = options.clock ?? systemClock;
  const perMs = options.bytesPerSecond / 1000;
  const burst = options.burstBytes ?? Math.max(64 * 1024, options.bytesPerSecond / 4);
  let tokens = burst;
  let last = clock.now();
  return {
    async take(bytes) {
      const now = clock.now();
      tokens = Math.min(burst, tokens + (now - last) * perMs) - bytes;
      last = now;
      if (tokens < 0) await clock.sleep(-tokens / perMs);
    },
  };
}

export const unlimited: RateLimiter = { take: async () => {} };
