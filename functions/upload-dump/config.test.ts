import { describe, expect, it } from 'vitest';
import { envOf, readFunctionDescriptor } from '../../test/manifests/manifests.ts';
import { ConfigError, loadConfig } from '../lib/config.ts';
import { uploadDumpConfig } from './config.ts';

const deployed = envOf(readFunctionDescriptor('upload-dump'));
const secrets = {
  REDIS_REST_TOKEN: 'token',
  SFTP_PRIVATE_KEY: 'key',
  SFTP_HOST_KEY: `SHA256:${'a'.repeat(43)}`,
};

describe('upload-dump config', () => {
  it('accepts what func.yaml deploys (secrets as files), and reads every variable it sets', () => {
    const env = Object.fromEntries([...deployed].filter(([name]) => !name.endsWith('_FILE')));
    const config = loadConfig(uploadDumpConfig, { ...env, ...secrets });
    expect(config).toMatchObject({
      HEAPDUMP_STORAGE: 'sftp',
      SFTP_ROOT: '/dumps',
      UPLOAD_RATE_MBPS: 200,
      UPLOAD_SLICE_SECONDS: 240,
      UPLOAD_GZIP_LEVEL: 1,
    });
    const read = new Set(Object.keys(uploadDumpConfig.shape));
    for (const name of deployed.keys()) {
      if (name === 'HEAPDUMP_FUNCTION') continue; // the image's entry reads it
      expect(read.has(name.replace(/_FILE$/, '')), name).toBe(true);
    }
  });

  it('names every setting the chosen backend misses', () => {
    const base = { REDIS_REST_URL: 'http://redis', REDIS_REST_TOKEN: 't' };
    expect(() => loadConfig(uploadDumpConfig, { ...base, HEAPDUMP_STORAGE: 'sftp', SFTP_HOST: 'h' })).toThrow(
      /SFTP_USER: missing \(HEAPDUMP_STORAGE=sftp\)[\s\S]*SFTP_HOST_KEY: missing/,
    );
    expect(() => loadConfig(uploadDumpConfig, base)).toThrow(/HEAPDUMP_FILE_ROOT: missing/);
    expect(() => loadConfig(uploadDumpConfig, { ...base, HEAPDUMP_STORAGE: 'azure' })).toThrow(
      /AZURE_STORAGE_CONNECTION_STRING: missing/,
    );
  });

  it('refuses a prefix that could leave the storage root', () => {
    const base = { REDIS_REST_URL: 'http://redis', REDIS_REST_TOKEN: 't', HEAPDUMP_FILE_ROOT: '/data' };
    for (const prefix of ['../up', '/abs', 'a/../../b', 'a//b']) {
      expect(
        () => loadConfig(uploadDumpConfig, { ...base, HEAPDUMP_STORAGE_PREFIX: prefix }),
        prefix,
      ).toThrow(ConfigError);
    }
    expect(
      loadConfig(uploadDumpConfig, { ...base, HEAPDUMP_STORAGE_PREFIX: 'team-a/heapdumps' }),
    ).toMatchObject({
      HEAPDUMP_STORAGE_PREFIX: 'team-a/heapdumps',
    });
  });
});
