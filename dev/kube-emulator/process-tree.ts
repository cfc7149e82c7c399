import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';

const pageSize = 4096;

/**
 * Resident memory of the given processes and all their descendants, from /proc. It stands in for the
 * container's memory cgroup: what the container started and what was exec'd into it both count.
 */
export function processTreeRss(roots: Iterable<number>): number {
  const seen = new Set<number>();
  const pending = [...roots];
  let bytes = 0;
  while (pending.length) {
    const pid = pending.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    bytes += residentBytes(pid);
    pending.push(...childrenOf(pid));
  }
  return bytes;
}

function residentBytes(pid: number): number {
  try {
    const resident = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(resident) ? resident * pageSize : 0;
  } catch {
    return 0; // exited meanwhile
  }
}

/** A child is listed under the thread that forked it, so every thread of a JVM is read. */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * SIGKILLs a process and everything below it. nsenter does not pass signals on to the command it started
 * in the container, so ending an exec session means ending the whole tree.
 */
export function killProcessTree(root: number): void {
  const pending = [root];
  const all: number[] = [];
  while (pending.length) {
    const pid = pending.pop()!;
    all.push(pid);
    pending.push(...childrenOf(pid));
  }
  for (const pid of all.reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The exit code a container runtime reports: the code, or 128 + the signal number. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] : constants.signals.SIGKILL);
}
