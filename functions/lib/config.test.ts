import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redisConfig } from './config.ts';

describe('config', () => {
  it('lists every missing or invalid variable in one message', () => {
    const attempt = () =>
      loadConfig(redisConfig, { REDIS_REST_URL: 'not a url', HEAPDUMP_DUMP_POOL_CAPACITY: '0' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const { problems, message } = error as ConfigError;
      expect(problems).toEqual([
        expect.stringMatching(/^REDIS_REST_URL: /),
        'REDIS_REST_TOKEN: missing',
        expect.stringMatching(/^HEAPDUMP_DUMP_POOL_CAPACITY: /),
      ]);
      expect(message).toContain('REDIS_REST_TOKEN: missing');
    }
  });

  it('applies defaults and coerces numbers', () => {
    const config = loadConfig(redisConfig, { REDIS_REST_URL: 'http://127.0.0.1:1', REDIS_REST_TOKEN: 't' });
    expect(config).toMatchObject({
      HEAPDUMP_KEY_PREFIX: 'heapdump:',
      HEAPDUMP_DUMP_POOL_CAPACITY: 1,
      HEAPDUMP_LEASE_SECONDS: 1800,
    });
  });

  it('reads secrets from *_FILE variables (mounted Secrets)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'heapdump-config-'));
    writeFileSync(join(dir, 'token'), 's3cret\n');
    const config = loadConfig(redisConfig, {
      REDIS_REST_URL: 'http://127.0.0.1:1',
      REDIS_REST_TOKEN_FILE: join(dir, 'token'),
    });
    expect(config.REDIS_REST_TOKEN).toBe('s3cret');
    expect(() =>
      loadConfig(redisConfig, { REDIS_REST_URL: 'http://x', REDIS_REST_TOKEN_FILE: join(dir, 'missing') }),
    ).toThrow(/REDIS_REST_TOKEN_FILE: cannot read/);
    // Another tool's *_FILE variable pointing nowhere is not ours to read.
    expect(() =>
      loadConfig(redisConfig, {
        REDIS_REST_URL: 'http://x',
        REDIS_REST_TOKEN: 't',
        TF_CLI_CONFIG_FILE: join(dir, 'missing'),
      }),
    ).not.toThrow();
  });
});
