import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Logger } from '../../functions/lib/log.ts';
import { exitCodeOf, processTreeRss } from './process-tree.ts';
import { type Isolation, openSandbox, type Sandbox, type SandboxSpec } from './sandbox.ts';

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
      terminated: {
        exitCode: number;
        reason: string;
        startedAt: string;
        finishedAt: string;
        containerID: string;
      };
    };

export interface ContainerStatusView {
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState | Record<string, never>;
  containerID?: string;
}

export interface RestartTiming {
  /** Delay before the second restart; it doubles each time, as the kubelet's CrashLoopBackOff does. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A container that ran this long starts over at no delay. */
  backoffResetMs: number;
  memorySampleMs: number;
}

export interface ContainerRunnerOptions {
  argv: string[];
  sandbox: SandboxSpec;
  isolation: Isolation;
  memoryLimitBytes?: number;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  logPath: string;
  timing: RestartTiming;
  describe: string;
  log: Logger;
  onChange: () => void;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** One container: starts its process, watches its memory, records its end and restarts it like the kubelet. */
export class ContainerRunner {
  restartCount = 0;
  state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  lastState: ContainerStatusView['lastState'] = {};
  containerID?: string;
  private sandbox?: Sandbox;
  private main?: ChildProcess;
  private readonly execs = new Set<ChildProcess>();
  private stopped = false;
  private oomKilled = false;
  private consecutiveFailures = 0;
  private timer?: NodeJS.Timeout;
  private starting?: Promise<void>;
  /** Settles when the current main process has exited, its end is recorded and its log closed. */
  private ended?: Promise<void>;

  constructor(private readonly options: ContainerRunnerOptions) {}

  get running(): boolean {
    return 'running' in this.state;
  }

  status(): ContainerStatusView {
    return {
      restartCount: this.restartCount,
      state: this.state,
      lastState: this.lastState,
      containerID: this.containerID,
    };
  }

  start(): Promise<void> {
    this.starting = this.launch().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async launch(): Promise<void> {
    if (this.stopped) return;
    const { options } = this;
    try {
      this.sandbox = await openSandbox(options.sandbox, options.isolation);
    } catch (error) {
      options.log.error({ err: error, container: options.describe }, 'cannot create the container sandbox');
      this.state = { waiting: { reason: 'CreateContainerError', message: (error as Error).message } };
      options.onChange();
      return;
    }
    if (this.stopped) return void (await this.sandbox.close());
    const startedAt = now();
    const child = this.sandbox.spawn(options.argv, { stdin: false });
    this.main = child;
    this.oomKilled = false;
    this.containerID = `emulator://${randomBytes(32).toString('hex')}`;
    const logFile = createWriteStream(options.logPath, { flags: 'a' });
    child.stdout?.pipe(logFile, { end: false });
    child.stderr?.pipe(logFile, { end: false });
    const sampler = options.memoryLimitBytes ? this.watchMemory(options.memoryLimitBytes) : undefined;
    const logClosed = new Promise<void>((resolve) => logFile.once('close', () => resolve()));
    child.once('error', (error) => logFile.write(`emulator: ${error.message}\n`));
    child.once('close', () => logFile.end());
    // The container ends with its main process, as with the kubelet: whatever it left running in the
    // background is killed with the sandbox (waiting for 'close' would wait for those too).
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.once('exit', (code, signal) => resolve([code, signal])),
    );
    this.ended = exited.then(async ([code, signal]) => {
      clearInterval(sampler);
      await this.onExit(startedAt, exitCodeOf(code, signal));
      await logClosed;
    });
    this.state = { running: { startedAt } };
    options.onChange();
  }

  /** Runs argv inside this container, as `kubectl exec` does; undefined when it is not running. */
  exec(argv: readonly string[], stdin: boolean): ChildProcess | undefined {
    if (!this.running || !this.sandbox) return undefined;
    const child = this.sandbox.spawn(argv, { stdin });
    this.execs.add(child);
    child.once('close', () => this.execs.delete(child));
    return child;
  }

  /**
   * Ends the container for good and resolves only when nothing of it runs or writes any more: no restart
   * is scheduled, a start under way has finished, every process (main and exec'd) has exited and its log
   * is closed. Only then may the pod's directory be removed.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.starting;
    await this.sandbox?.close();
    await this.ended;
    await Promise.all([...this.execs].map((child) => closeOf(child)));
  }

  private watchMemory(limit: number): NodeJS.Timeout {
    return setInterval(() => {
      const roots = [this.main?.pid, ...[...this.execs].map((child) => child.pid)].filter(
        (pid): pid is number => pid !== undefined,
      );
      const rss = processTreeRss(roots);
      if (rss > limit && !this.oomKilled) {
        this.oomKilled = true;
        this.options.log.info(
          { container: this.options.describe, rss, limit },
          'memory limit exceeded: OOMKilled',
        );
        void this.sandbox?.close();
      }
    }, this.options.timing.memorySampleMs);
  }

  private async onExit(startedAt: string, exitCode: number): Promise<void> {
    await this.sandbox?.close();
    this.sandbox = undefined;
    this.main = undefined;
    if (this.stopped) return;
    const finishedAt = now();
    const code = this.oomKilled ? 137 : exitCode;
    const reason = this.oomKilled ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error';
    const terminated = { exitCode: code, reason, startedAt, finishedAt, containerID: this.containerID ?? '' };
    const { restartPolicy, timing } = this.options;
    const restart = restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && code !== 0);
    const ranMs = Date.parse(finishedAt) - Date.parse(startedAt);
    this.consecutiveFailures = ranMs >= timing.backoffResetMs ? 0 : this.consecutiveFailures;
    if (!restart) {
      this.state = { terminated };
      this.options.onChange();
      return;
    }
    const delay =
      this.consecutiveFailures === 0
        ? 0
        : Math.min(timing.backoffBaseMs * 2 ** (this.consecutiveFailures - 1), timing.backoffMaxMs);
    this.consecutiveFailures++;
    this.lastState = { terminated };
    if (delay > 0) {
      this.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.options.describe}`,
        },
      };
    } else {
      this.state = { terminated };
    }
    this.options.log.info(
      { container: this.options.describe, ...terminated, delay },
      'container exited, restarting',
    );
    // restartCount counts containers started again, so it goes up with the new start, not during back-off;
    // without back-off the end and the restart are one status update, as the kubelet reports them.
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.restartCount++;
      void this.start();
    }, delay);
    if (delay > 0) this.options.onChange();
  }
}

function closeOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('close', () => resolve()));
}
