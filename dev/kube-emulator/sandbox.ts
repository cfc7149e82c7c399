import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { untilGone } from './process-tree.ts';

const run = promisify(execFile);

/**
 * How containers are isolated on this host.
 * - `namespaces` (root, the default when it works): each container runs in its own mount + PID namespace,
 *   held open by a "pause" process as the kubelet's sandbox does. Volumes are bind-mounted at their
 *   mountPath and /tmp is private, so `/dumps/x.hprof` is a real path inside the container and `jcmd -l`
 *   sees only that container's JVMs (hsperfdata and attach sockets live in /tmp; /proc is the namespace's).
 *   Exec'd commands enter the same namespaces with nsenter, like `kubectl exec` enters a container.
 * - `paths` (fallback without privileges): plain host processes; argv elements and env values that name a
 *   mount path are rewritten to the host directory. No /tmp or PID isolation: `jcmd -l` sees every JVM.
 */
export type Isolation = 'namespaces' | 'paths';

export interface Mount {
  hostPath: string;
  mountPath: string;
}

export interface SandboxSpec {
  /** A fresh host directory owned by this container instance (its private /tmp lives here). */
  dir: string;
  mounts: Mount[];
  workingDir: string;
  env: Record<string, string>;
}

export interface Sandbox {
  /** Starts argv (never through a shell) inside the container. */
  spawn(argv: readonly string[], options: { stdin: boolean }): ChildProcess;
  /** Kills everything still running in the container. */
  close(): Promise<void>;
}

let detected: Promise<Isolation> | undefined;

/** Namespaces when `unshare` can create a mount + PID namespace here (root on Linux), else paths. */
export function detectIsolation(): Promise<Isolation> {
  detected ??= run('unshare', ['--mount', '--pid', '--fork', '--mount-proc', '--', 'true'], {
    timeout: 5000,
  }).then(
    () => 'namespaces' as const,
    () => 'paths' as const,
  );
  return detected;
}

export async function openSandbox(spec: SandboxSpec, isolation: Isolation): Promise<Sandbox> {
  await rm(spec.dir, { recursive: true, force: true });
  await mkdir(join(spec.dir, 'tmp'), { recursive: true });
  return isolation === 'namespaces' ? openNamespaceSandbox(spec) : openPathSandbox(spec);
}

async function openNamespaceSandbox(spec: SandboxSpec): Promise<Sandbox> {
  // `cat` on a pipe is the pause process: when the emulator dies for any reason the pipe closes, cat exits,
  // and the kernel kills everything in the PID namespace with it. No orphaned JVMs.
  const holder = spawn(
    'unshare',
    [
      '--mount',
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child=SIGKILL',
      '--propagation',
      'private',
      '--',
      'cat',
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => holder.once('close', () => resolve()));
  let stderr = '';
  holder.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let init: number | undefined;
  const close = async () => {
    holder.stdin?.end();
    holder.kill('SIGKILL');
    await exited;
    // unshare's death kills the namespace's init, which takes every process of the namespace with it
    // before it is gone itself: waiting for it means nothing of the container runs any more.
    if (init) await untilGone([init]);
  };
  try {
    const pid = await namespacePid(holder, () => stderr);
    init = pid;
    const enter = ['-t', String(pid), '-m'];
    const privateTmp = join(spec.dir, 'tmp');
    // Parents before children (/tmp before /tmp/x); the private /tmp goes first so a volume under it stays visible.
    const mounts = [{ hostPath: privateTmp, mountPath: '/tmp' }, ...spec.mounts].sort(
      (a, b) => depth(a.mountPath) - depth(b.mountPath),
    );
    // A host path under /tmp (the checkout itself, in a CI that clones there) would vanish under the private
    // /tmp: bind it at the same place inside the private /tmp first; --rbind then carries it along.
    for (const hostPath of new Set([spec.workingDir, ...spec.mounts.map((m) => m.hostPath)])) {
      const below = relative('/tmp', hostPath);
      if (below.startsWith('..') || below === '') continue;
      await mkdir(join(privateTmp, below), { recursive: true });
      await run('nsenter', [...enter, '--', 'mount', '--bind', hostPath, join(privateTmp, below)]);
    }
    for (const { hostPath, mountPath } of mounts) {
      // The mount point must exist; the directory created on the host stays empty there.
      await mkdir(mountPath, { recursive: true });
      await run('nsenter', [...enter, '--', 'mount', '--rbind', hostPath, mountPath]);
    }
    return {
      spawn: (argv, { stdin }) =>
        spawn('nsenter', [...enter, '-p', `--wd=${spec.workingDir}`, '--', ...argv], {
          env: spec.env,
          stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The host pid of the namespace's init (the holder's only child), which nsenter targets. */
async function namespacePid(holder: ChildProcess, stderr: () => string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (holder.exitCode !== null || holder.signalCode !== null || !holder.pid)
      throw new Error(`unshare failed: ${stderr().trim() || `exit ${holder.exitCode ?? holder.signalCode}`}`);
    const children = await readFile(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8').catch(
      () => '',
    );
    const pid = Number(children.trim().split(/\s+/)[0]);
    if (pid > 0) return pid;
    await sleep(5);
  }
  throw new Error('unshare started no namespace init within 1 s');
}

function openPathSandbox(spec: SandboxSpec): Sandbox {
  const mounts = [...spec.mounts].sort((a, b) => depth(b.mountPath) - depth(a.mountPath));
  const rewrite = (value: string) => rewritePaths(value, mounts);
  const env = Object.fromEntries(Object.entries(spec.env).map(([key, value]) => [key, rewrite(value)]));
  const cwd = rewrite(spec.workingDir);
  const children = new Set<ChildProcess>();
  return {
    spawn: (argv, { stdin }) => {
      const [file, ...args] = argv.map(rewrite);
      // Own process group, so close() also reaches whatever the command started.
      const child = spawn(file ?? '', args, {
        cwd,
        env,
        detached: true,
        stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.once('close', () => children.delete(child));
      return child;
    },
    close: async () => {
      await Promise.all(
        [...children].map((child) => {
          const closed = new Promise((resolve) => child.once('close', resolve));
          try {
            if (child.pid) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
          return closed;
        }),
      );
    },
  };
}

/** `/dumps/a.hprof` and `-XX:HeapDumpPath=/dumps` name a mount; both become the host directory. */
export function rewritePaths(value: string, mounts: readonly Mount[]): string {
  for (const { hostPath, mountPath } of mounts) {
    const pattern = new RegExp(`(^|=)${escapeRegExp(mountPath.replace(/\/+$/, ''))}(?=/|$)`);
    if (pattern.test(value))
      return value.replace(pattern, (_match, prefix: string) => `${prefix}${hostPath}`);
  }
  return value;
}

function depth(path: string): number {
  return path.split('/').filter(Boolean).length;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
