import { setTimeout as sleep } from 'node:timers/promises';

/** Monotonic time in milliseconds, and a way to wait; tests hand in a fake one. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => sleep(ms),
};
