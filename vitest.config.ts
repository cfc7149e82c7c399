import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'functions/**/*.test.ts',
      'adapters/**/*.test.ts',
      'cli/**/*.test.ts',
      'dev/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Tests start real servers (redis, sshd, JVMs); two at a time fits this 2-core machine.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
