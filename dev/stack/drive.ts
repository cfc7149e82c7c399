import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKubernetes, kubeConfigFromYaml } from '../../adapters/kubernetes/index.ts';
import type { DumpRecord } from '../../adapters/redis-store/index.ts';
import type { DevStack } from './index.ts';

/** Ways to drive and observe a running dev stack, shared by `heapdump demo` and the end-to-end tests. */

export interface AlertTarget {
  namespace: string;
  pod: string;
  /** Alertmanager repeats an alert with the same fingerprint and startsAt; a new firing gets a new startsAt. */
  startsAt?: string;
}

/** An Alertmanager v4 webhook body with one firing HighMemoryUsage alert per target. */
export function alertmanagerWebhook(targets: AlertTarget[]) {
  const alerts = targets.map((t) => {
    const labels = { alertname: 'HighMemoryUsage', namespace: t.namespace, pod: t.pod, severity: 'warning' };
    return {
      status: 'firing',
      labels,
      annotations: { summary: 'High Memory Usage', description: 'Memory usage is above 80%' },
      startsAt: t.startsAt ?? new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.local/graph',
      fingerprint: createHash('sha256').update(JSON.stringify(labels)).digest('hex').slice(0, 16),
    };
  });
  return {
    receiver: 'heapdump',
    status: 'firing',
    alerts,
    groupLabels: { alertname: 'HighMemoryUsage' },
    commonLabels: { alertname: 'HighMemoryUsage', severity: 'warning' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.local',
    version: '4',
    groupKey: '{}:{alertname="HighMemoryUsage"}',
    truncatedAlerts: 0,
  };
}

/** Posts the webhook to alert-bridge as Alertmanager would (bearer token from http_config.authorization). */
export async function postAlerts(stack: DevStack, targets: AlertTarget[]): Promise<Response> {
  if (!stack.alertBridge) throw new Error('alert-bridge is not running in this stack');
  return fetch(stack.alertBridge.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.alertBridge.token}` },
    body: JSON.stringify(alertmanagerWebhook(targets)),
    signal: AbortSignal.timeout(30_000),
  });
}

const finished = new Set(['uploaded', 'failed', 'skipped']);

/**
 * Polls the dump records until `count` records match and all of them are finished (uploaded, failed,
 * skipped); returns them oldest first.
 */
export async function waitForDumps(
  stack: DevStack,
  match: (record: DumpRecord) => boolean,
  options: { count?: number; timeoutMs: number; what?: string },
): Promise<DumpRecord[]> {
  const count = options.count ?? 1;
  const deadline = Date.now() + options.timeoutMs;
  let seen: DumpRecord[] = [];
  for (;;) {
    seen = (await stack.store.records.listDumps(500)).filter(match);
    if (seen.length >= count && seen.every((r) => finished.has(r.state))) {
      return seen.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0));
    }
    if (Date.now() > deadline) {
      const states = seen.map((r) => `${r.target} ${r.state}`).join(', ') || 'none';
      throw new Error(
        `waited ${Math.round(options.timeoutMs / 1000)} s for ${count} finished ${options.what ?? 'dumps'}; have: ${states}`,
      );
    }
    await sleep(250, undefined, { signal: stack.stopSignal });
  }
}

export const targetIs = (target: string) => (record: DumpRecord) => record.target === target;

/** Tokens still held in both pools. */
export async function tokensHeld(stack: DevStack): Promise<number> {
  const [dump, upload] = await Promise.all([
    stack.store.pools.holders('dump'),
    stack.store.pools.holders('upload'),
  ]);
  return dump.length + upload.length;
}

/** Waits until no token is held (release-token runs after the dump.uploaded reply). */
export async function waitForTokensReleased(stack: DevStack, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await tokensHeld(stack)) > 0) {
    if (Date.now() > deadline) throw new Error(`tokens still held after ${timeoutMs / 1000} s`);
    await sleep(200, undefined, { signal: stack.stopSignal });
  }
}

/**
 * Whether the dumps ran one after another: each one's tokens were granted (approved) only after the one
 * before was stored or failed.
 */
export function oneAtATime(records: DumpRecord[]): boolean {
  const spans = records
    .map((r) => ({ start: r.approvedAt ?? r.capturingAt ?? 0, end: r.uploadedAt ?? r.failedAt ?? 0 }))
    .sort((a, b) => a.start - b.start);
  return spans.every((span, i) => i === 0 || spans[i - 1]!.end <= span.start);
}

/** The local path of a `file://` location (the file backend). */
export const pathOf = (location: string | undefined) =>
  location?.startsWith('file://') ? new URL(location).pathname : undefined;

/**
 * Waits until `jcmd -l` in each pod's first container lists a JVM running `mainClass`: a pod can be Running
 * before its JVM is attachable, and exec-dump would find no JVM.
 */
export async function waitForJvms(
  stack: DevStack,
  pods: { namespace: string; pod: string }[],
  options: { mainClass: string; timeoutMs: number },
): Promise<void> {
  const kube = createKubernetes(kubeConfigFromYaml(stack.emulator.kubeconfigFor('admin')));
  const deadline = Date.now() + options.timeoutMs;
  const ready = async ({ namespace, pod }: { namespace: string; pod: string }) => {
    for (;;) {
      const found = await kube.getPod(namespace, pod).catch(() => null);
      const container = found?.spec?.containers[0]?.name;
      if (container && found?.status?.phase === 'Running') {
        const result = await kube
          .exec({ namespace, pod, container }, ['jcmd', '-l'], { timeoutMs: 20_000 })
          .catch(() => undefined);
        if (result?.stdout.toString().includes(options.mainClass)) return;
      }
      if (Date.now() > deadline)
        throw new Error(`no ${options.mainClass} JVM in ${namespace}/${pod} in time`);
      await sleep(300, undefined, { signal: stack.stopSignal });
    }
  };
  await Promise.all(pods.map(ready));
}
