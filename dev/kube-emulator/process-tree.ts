import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

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
 * SIGKILLs a process and everything below it, and resolves once none of them runs any more (a zombie
 * waiting for its parent counts as gone), so a caller may then remove what they were writing. nsenter does
 * not pass signals on to the command it started in the container, and sshd serves a session in a
 * grandchild: ending either means ending the whole tree.
 */
export async function killProcessTree(root: number, timeoutMs = 5_000): Promise<void> {
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
  await untilGone(all, timeoutMs);
}

/** Resolves once none of the processes runs any more (gone, or a zombie waiting to be reaped). */
export async function untilGone(pids: readonly number[], timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isRunning)) {
    if (Date.now() > deadline)
      throw new Error(`processes ${pids.filter(isRunning).join(', ')} outlived SIGKILL`);
    await sleep(5);
  }
}

function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The exit code a container runtime reports: the code, or 128 + the signal number. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] : constants.signals.SIGKILL);
}
