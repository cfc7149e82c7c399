import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { createRedisClient, createStore, type Store } from '../adapters/redis-store/index.ts';

/** Where `heapdump dev` writes the addresses of the running stack. */
export const devEnvFile = (cwd = process.cwd()) => join(cwd, '.heapdump', 'dev', 'env');

/** Exit codes scripts can rely on. */
export const ExitCode = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failed,
  ) {
    super(message);
  }
}

/** The environment of a command: the process env wins over the dev stack's env file. */
export function cliEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const file = env.HEAPDUMP_ENV_FILE ?? devEnvFile();
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

export function requireVar(env: Record<string, string | undefined>, name: string, what: string): string {
  const value = env[name];
  if (!value) {
    throw new CliError(
      `${name} is not set: ${what} is unknown. Start the local stack with "heapdump dev" (it writes ${devEnvFile()}) or export ${name}.`,
      ExitCode.unreachable,
    );
  }
  return value;
}

/** The store the functions use, reached through the same REST endpoint. */
export function cliStore(env = cliEnv()): Store {
  return createStore({
    redis: createRedisClient({
      url: requireVar(env, 'REDIS_REST_URL', 'the Redis REST endpoint'),
      token: requireVar(env, 'REDIS_REST_TOKEN', 'the Redis REST token'),
      retries: 1,
    }),
    prefix: env.HEAPDUMP_KEY_PREFIX ?? 'heapdump:',
  });
}

/** Runs a command body, turning a failure into a message and an exit code instead of a stack trace. */
export function action<A extends unknown[]>(run: (...args: A) => Promise<number | undefined>) {
  return async (...args: A) => {
    try {
      process.exitCode = (await run(...args)) ?? ExitCode.ok;
    } catch (error) {
      const known = error instanceof CliError;
      const status = (error as { code?: number }).code;
      const unreachable = status === 503;
      console.error(`heapdump: ${(error as Error).message}`);
      process.exitCode = known ? error.exitCode : unreachable ? ExitCode.unreachable : ExitCode.failed;
    }
  };
}

export const printJson = (value: unknown) => console.log(JSON.stringify(value, null, 2));

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || Number.isNaN(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
