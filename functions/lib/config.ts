import { readFileSync } from 'node:fs';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/**
 * Secrets may come as `NAME` (env from a Secret) or `NAME_FILE` (a mounted Secret file); the file wins,
 * so a rotated Secret is picked up on the next cold start without touching the Deployment's env.
 */
export function resolveFileVariables(env: Env, names?: ReadonlySet<string>): Env {
  const resolved: Env = { ...env };
  for (const [key, value] of Object.entries(env)) {
    if (!key.endsWith('_FILE') || !value) continue;
    const name = key.slice(0, -'_FILE'.length);
    // Only the variables we read: other tools' *_FILE variables are none of our business.
    if (names && !names.has(name)) continue;
    try {
      resolved[name] = readFileSync(value, 'utf8').trim();
    } catch (error) {
      throw new ConfigError([`${key}: cannot read ${value}: ${(error as Error).message}`]);
    }
  }
  return resolved;
}

/** Reads config once, reporting every missing or invalid variable in one message. */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env = process.env): z.infer<S> {
  const names = schema instanceof z.ZodObject ? new Set(Object.keys(schema.shape)) : undefined;
  const parsed = schema.safeParse(resolveFileVariables(env, names));
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(env)';
      return issue.code === 'invalid_type' && issue.input === undefined
        ? `${name}: missing`
        : `${name}: ${issue.message}`;
    }),
  );
}

const duration = z.coerce.number().int().positive();

/** What every function needs to reach Redis; each function extends it with its own variables. */
export const redisConfig = z.object({
  REDIS_REST_URL: z.url(),
  REDIS_REST_TOKEN: z.string().min(1),
  HEAPDUMP_KEY_PREFIX: z
    .string()
    .regex(/^[a-z0-9:_-]+$/i)
    .default('heapdump:'),
  HEAPDUMP_DUMP_POOL_CAPACITY: z.coerce.number().int().min(1).default(1),
  HEAPDUMP_UPLOAD_POOL_CAPACITY: z.coerce.number().int().min(1).default(1),
  HEAPDUMP_LEASE_SECONDS: duration.default(1800),
  HEAPDUMP_DEDUPE_SECONDS: duration.default(86_400),
  /** How long dump records, the dumps index (heapdump list) and upload states stay after their last change. */
  HEAPDUMP_RECORD_RETENTION_DAYS: duration.default(30),
  /** How long a container's switch stays off after its dump; reset earlier with `heapdump reset`. */
  HEAPDUMP_SWITCH_RETENTION_DAYS: duration.default(90),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type RedisConfig = z.infer<typeof redisConfig>;
