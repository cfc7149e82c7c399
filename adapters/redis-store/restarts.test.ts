import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

describe('restart observation', () => {
  it('answers a retried observer as it answered the first time, and nobody else', async () => {
    const { records } = redis.store();
    expect(await records.observeRestartCount('uid-1', 'app', 1, 'event-a')).toBeNull();
    // The Broker retries event-a after a failure further on: it still sees the restart it reported.
    expect(await records.observeRestartCount('uid-1', 'app', 1, 'event-a')).toBeNull();
    // Another update with the same count (the container became ready) is not a new restart.
    expect(await records.observeRestartCount('uid-1', 'app', 1, 'event-b')).toBe(1);
    expect(await records.observeRestartCount('uid-1', 'app', 2, 'event-c')).toBe(1);
    expect(await records.observeRestartCount('uid-1', 'app', 2, 'event-c')).toBe(1);
    expect(await records.observeRestartCount('uid-1', 'app', 2, 'event-a')).toBe(2);
  });

  it('keeps containers apart', async () => {
    const { records } = redis.store();
    expect(await records.observeRestartCount('uid-1', 'app', 3, 'e')).toBeNull();
    expect(await records.observeRestartCount('uid-1', 'sidecar', 3, 'e')).toBeNull();
    expect(await records.observeRestartCount('uid-2', 'app', 3, 'e')).toBeNull();
  });
});
