import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { containerCpus, gzipParallelism } from './parallelism.ts';

const MiB = 1024 * 1024;
const cgroup = (files: Record<string, string>) => (path: string) => files[path];

describe('gzip parallelism', () => {
  it('follows the container’s CPU quota, not the node’s cores', () => {
    const cores = availableParallelism();
    expect(containerCpus(cgroup({ '/sys/fs/cgroup/cpu.max': '100000 100000\n' }))).toBe(Math.min(cores, 1));
    expect(containerCpus(cgroup({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(Math.min(cores, 2));
    expect(
      containerCpus(
        cgroup({
          '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000',
          '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
        }),
      ),
    ).toBe(1);
    expect(containerCpus(cgroup({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBe(cores);
    expect(containerCpus(cgroup({}))).toBe(cores);
  });

  it('keeps the blocks in flight within 32 MiB whatever the CPUs or the request (64 cores, 4 MiB blocks: 4)', () => {
    expect(gzipParallelism(4 * MiB, undefined, 64)).toBe(4);
    expect(gzipParallelism(4 * MiB, 64, 2)).toBe(4);
    expect(gzipParallelism(4 * MiB, undefined, 2)).toBe(2);
    expect(gzipParallelism(4 * MiB, undefined, 1)).toBe(2);
    expect(gzipParallelism(64 * MiB, 8, 8)).toBe(1);
  });
});
