import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Blocks being compressed at once, with their output, may hold at most this much memory. */
export const MAX_BYTES_IN_FLIGHT = 32 * 1024 * 1024;

/**
 * CPUs this container may use: its cgroup's CPU quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`), else what the
 * process may run on. Node's availableParallelism() reads only the affinity mask, which in a pod without a
 * CPU limit is every core of the node: 64 on a large node.
 */
export function containerCpus(read: (path: string) => string | undefined = readQuietly): number {
  const cores = availableParallelism();
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 && v2[0] !== 'max' && Number(v2[0]) > 0 && Number(v2[1]) > 0)
    return Math.min(cores, Math.ceil(Number(v2[0]) / Number(v2[1])));
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  if (quota > 0 && period > 0) return Math.min(cores, Math.ceil(quota / period));
  return cores;
}

/**
 * How many blocks to gzip at once: the requested number, else the container's CPUs (at least 2, so
 * hashing and sending overlap compression), never more than MAX_BYTES_IN_FLIGHT allows for blocks of
 * `blockBytes` (each holds its input and, at worst, as much output).
 */
export function gzipParallelism(blockBytes: number, requested?: number, cpus = containerCpus()): number {
  const byMemory = Math.max(1, Math.floor(MAX_BYTES_IN_FLIGHT / (2 * blockBytes)));
  return Math.min(requested ?? Math.max(2, cpus), byMemory);
}

function readQuietly(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
