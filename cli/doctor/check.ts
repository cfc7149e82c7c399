import type { ClusterReader } from './cluster.ts';
import type { Shipped } from './shipped.ts';

export type Outcome = 'pass' | 'fail' | 'skip';

/** One line of the report: what was checked, what was found, and for a failure how to fix it. */
export interface CheckResult {
  check: string;
  outcome: Outcome;
  message: string;
  fix?: string;
}

export interface DoctorOptions {
  redis?: { url: string; token: string };
  sftp?: { host: string; port: number; hostKey: string };
  timeoutMs: number;
}

/** What every check gets: the cluster (read-only), what the project ships, the user's options. */
export interface DoctorContext {
  cluster: ClusterReader;
  shipped: Shipped;
  options: DoctorOptions;
}

/** A check: one small function returning one or more lines. Throwing means "could not check". */
export interface Check {
  name: string;
  /** Checks that read the cluster are skipped when the API server cannot be reached. */
  needsCluster: boolean;
  run(context: DoctorContext): Promise<CheckResult[]>;
}

export const pass = (check: string, message: string): CheckResult => ({ check, outcome: 'pass', message });
export const fail = (check: string, message: string, fix: string): CheckResult => ({
  check,
  outcome: 'fail',
  message,
  fix,
});
export const skip = (check: string, message: string): CheckResult => ({ check, outcome: 'skip', message });

/** Rejects when `promise` takes longer than `ms` (a probe of a host that swallows packets must end). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
