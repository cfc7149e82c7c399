import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { freePort } from '../../dev/free-port.ts';

export interface AlertmanagerOptions {
  /** Where the webhook receiver posts (alert-bridge). */
  webhookUrl: string;
  /** Sent as `Authorization: Bearer <token>` (http_config.authorization). */
  bearerToken: string;
  groupBy?: string[];
  /** Alertmanager durations ('1s', '5m'); short defaults so a test sees the first notification at once. */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
}

export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface TestAlertmanager {
  url: string;
  /** Posts alerts through the API (v2), as Prometheus does. */
  postAlerts(alerts: PostedAlert[]): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

/** Debian names the binary prometheus-alertmanager; upstream tarballs name it alertmanager. */
function binary(): string {
  for (const name of ['alertmanager', 'prometheus-alertmanager']) {
    try {
      execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
      return name;
    } catch {
      // try the next name
    }
  }
  throw new Error(
    'alertmanager is not installed (Debian package prometheus-alertmanager; run scripts/setup.sh)',
  );
}

/**
 * A real Alertmanager on a free loopback port, clustering off, its storage in a temporary directory, with
 * one webhook receiver. stop() kills it and removes the directory.
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<TestAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'heapdump-alertmanager-'));
  const config = {
    route: {
      receiver: 'heapdump',
      group_by: options.groupBy ?? ['namespace', 'pod'],
      group_wait: options.groupWait ?? '1s',
      group_interval: options.groupInterval ?? '1s',
      repeat_interval: options.repeatInterval ?? '1h',
    },
    receivers: [
      {
        name: 'heapdump',
        webhook_configs: [
          {
            url: options.webhookUrl,
            send_resolved: true,
            http_config: { authorization: { type: 'Bearer', credentials: options.bearerToken } },
          },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary(),
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`alertmanager exited with ${child.exitCode}:\n${output}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`alertmanager was not ready within 20 s:\n${output}`);
    }
    await sleep(100);
  }

  return {
    url,
    async postAlerts(alerts) {
      const response = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (!response.ok)
        throw new Error(`alertmanager refused the alerts: ${response.status} ${await response.text()}`);
    },
    output: () => output,
    stop,
  };
}
