import { Redis, type Requester } from '@upstash/redis';
import { HeapdumpError, TransientError } from '../../functions/lib/errors.ts';
import { createHttpRequester } from './http-requester.ts';

export type { Redis };

export interface RedisClientOptions {
  url: string;
  token: string;
  /** Network retries inside the client; every write we make is idempotent, so retrying is safe. */
  retries?: number;
  /** How long one attempt may wait for an answer (default 10 s). */
  timeoutMs?: number;
}

/**
 * The real client's command layer over our own Requester. A Requester skips the config options, so the ones
 * we rely on are set here: raw strings (no automatic JSON parsing), no telemetry, auto-pipelining.
 */
class RequesterRedis extends Redis {
  private constructor(requester: Requester) {
    super(requester);
    this.opts = { automaticDeserialization: false };
    this.enableTelemetry = false;
  }

  static create(requester: Requester): Redis {
    return new RequesterRedis(requester).autoPipeline();
  }
}

export function createRedisClient(options: RedisClientOptions): Redis {
  return RequesterRedis.create(
    createHttpRequester({
      url: options.url,
      token: options.token,
      retries: options.retries ?? 3,
      timeoutMs: options.timeoutMs,
      backoff: (attempt) => Math.min(1000, 50 * 2 ** attempt),
    }),
  );
}

/** Any failure to reach Redis is an outage: 503, so the Broker retries the event later. */
export async function guarded<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof HeapdumpError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new TransientError(`redis unavailable during ${operation}: ${message}`, { cause: error });
  }
}
