import { Redis } from '@upstash/redis';
import { HeapdumpError, TransientError } from '../../functions/lib/errors.ts';

export type { Redis };

export interface RedisClientOptions {
  url: string;
  token: string;
  /** Network retries inside the client; every write we make is idempotent, so retrying is safe. */
  retries?: number;
}

export function createRedisClient(options: RedisClientOptions): Redis {
  return new Redis({
    url: options.url,
    token: options.token,
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: {
      retries: options.retries ?? 3,
      backoff: (attempt) => Math.min(1000, 50 * 2 ** attempt),
    },
  });
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
