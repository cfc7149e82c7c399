import { describe, expect, it } from 'vitest';
import type { Clock } from './clock.ts';
import { createTokenBucket } from './rate-limiter.ts';

/** A clock that only moves when someone sleeps, or when the test says time passed elsewhere. */
function fakeClock() {
  let now = 0;
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
  return { clock, pass: (ms: number) => (now += ms), now: () => now };
}

describe('token bucket', () => {
  it('holds the long-run rate exactly, whatever the chunk size', async () => {
    const time = fakeClock();
    const limiter = createTokenBucket({ bytesPerSecond: 25_000_000, clock: time.clock });
    const chunks = [1, 256 * 1024, 7_000_003, 65_536, 3 * 1024 * 1024].flatMap((size) =>
      Array(20).fill(size),
    );
    for (const chunk of chunks) await limiter.take(chunk);
    const total = chunks.reduce((sum, chunk) => sum + chunk, 0);
    const burst = 25_000_000 / 4; // the bucket starts full: 250 ms worth
    expect(time.now()).toBeCloseTo(((total - burst) / 25_000_000) * 1000, 6);
  });

  it('makes up for a stall of up to its burst instead of losing the time', async () => {
    const time = fakeClock();
    const limiter = createTokenBucket({ bytesPerSecond: 1_000_000, burstBytes: 250_000, clock: time.clock });
    await limiter.take(250_000); // drain the initial burst
    const start = time.now();
    await limiter.take(100_000); // 100 ms at the cap
    time.pass(200); // the sink stalled for 200 ms
    for (let i = 0; i < 10; i++) await limiter.take(100_000);
    // 1.1 MB at 1 MB/s is 1100 ms; the stall is absorbed, so the whole took no longer than that
    expect(time.now() - start).toBeCloseTo(1100, 6);
  });

  it('loses idle time beyond the burst, so it never sends faster than the cap for long', async () => {
    const time = fakeClock();
    const limiter = createTokenBucket({ bytesPerSecond: 1_000_000, burstBytes: 250_000, clock: time.clock });
    time.pass(60_000); // idle for a minute
    const start = time.now();
    for (let i = 0; i < 10; i++) await limiter.take(100_000);
    expect(time.now() - start).toBeCloseTo(750, 6); // 1 MB minus the 250 kB burst, at 1 MB/s
  });
});
