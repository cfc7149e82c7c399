import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1PodStatus } from '@kubernetes/client-node';
import type { DumpRecord } from '../../../adapters/redis-store/index.ts';
import { EventTypes } from '../../../functions/lib/events/index.ts';
import {
  oneAtATime,
  pathOf,
  postAlerts,
  targetIs,
  tokensHeld,
  waitForDumps,
  waitForJvms,
  waitForTokensReleased,
} from '../drive.ts';
import { type DevStack, projectRoot } from '../index.ts';

export interface StepResult {
  title: string;
  ok: boolean;
  seconds: number;
  lines: string[];
}

interface Step {
  title: string;
  /** Functions the step cannot do without. */
  needs: string[];
  run(stack: DevStack, note: (line: string) => void): Promise<void>;
}

const NS = 'demo';
const mib = (bytes: number | undefined) => `${((bytes ?? 0) / 2 ** 20).toFixed(1)} MiB`;

/** Fails the step with `message` unless `condition` holds. */
function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The emulator serves Pods as the API does. */
const podStatus = (stack: DevStack, name: string) =>
  stack.emulator.pod(NS, name)?.status as V1PodStatus | undefined;

/** A stored dump: its record says uploaded, and the dump and its .json are where the record says. */
function checkStored(record: DumpRecord, note: (line: string) => void) {
  check(
    record.state === 'uploaded',
    `dump ${record.dumpId} ended ${record.state}: ${record.error?.message ?? record.skipReason ?? ''}`,
  );
  const dump = pathOf(record.location);
  const metadata = pathOf(record.metadataLocation);
  if (dump) check(existsSync(dump), `the record says ${dump}, but there is no such file`);
  if (metadata) check(existsSync(metadata), `no metadata beside the dump (${metadata})`);
  const seconds = ((record.uploadedAt ?? 0) - (record.approvedAt ?? record.createdAt ?? 0)) / 1000;
  note(
    `${record.target}: ${record.mode} dump ${mib(record.rawBytes)} → stored ${mib(dump ? statSync(dump).size : record.storedBytes)} in ${seconds.toFixed(1)} s`,
  );
  note(`  ${record.location}`);
  if (record.metadataLocation) note(`  ${record.metadataLocation}`);
}

const steps: Step[] = [
  {
    title: 'Real JVMs fill their heaps in the demo namespace',
    needs: [],
    async run(stack, note) {
      const pods = ['shop-api', 'batch-1', 'batch-2', 'batch-3'];
      await waitForJvms(
        stack,
        pods.map((pod) => ({ namespace: NS, pod })),
        { mainClass: 'Hog', timeoutMs: 90_000 },
      );
      note('demo/shop-api: java -Xmx128m, 48 MiB of live heap (test/fixtures/java/Hog)');
      note('demo/batch-1..3: java -Xmx64m, 16 MiB each; all labelled heapdump.dev/enabled=true');
    },
  },
  {
    title: 'An Alertmanager webhook for shop-api: the heap is dumped, stored with its .json, tokens released',
    needs: ['alert-bridge', 'decide-dump', 'exec-dump', 'upload-dump', 'release-token'],
    async run(stack, note) {
      const response = await postAlerts(stack, [{ namespace: NS, pod: 'shop-api' }]);
      const answer = await response.text();
      check(response.ok, `alert-bridge answered ${response.status}: ${answer}`);
      note(`alert-bridge answered ${response.status}: ${answer.slice(0, 120)}`);
      const [record] = await waitForDumps(stack, targetIs(`${NS}/shop-api/app`), { timeoutMs: 120_000 });
      checkStored(record!, note);
      await waitForTokensReleased(stack, 30_000);
      const dumped = await stack.store.switches.listDumped();
      check(
        dumped.some((d) => d.dumpId === record!.dumpId),
        'the container switch was not turned off after the dump',
      );
      note('tokens released; the container switch of demo/shop-api/app is off');
    },
  },
  {
    title: 'A second alert for the same container is skipped (already-dumped)',
    needs: ['alert-bridge', 'decide-dump'],
    async run(stack, note) {
      const display = stack.display!;
      const since = display.events().length;
      const response = await postAlerts(stack, [
        { namespace: NS, pod: 'shop-api', startsAt: new Date(Date.now() + 1000).toISOString() },
      ]);
      check(response.ok, `alert-bridge answered ${response.status}`);
      const skipped = await display.waitFor(
        (e) =>
          e.type === EventTypes.dumpSkipped &&
          (e.data as { target?: { pod?: string } })?.target?.pod === 'shop-api',
        { timeoutMs: 30_000, what: 'dump.skipped for shop-api', after: since },
      );
      const data = skipped.data as { reason: string; detail?: string };
      check(data.reason === 'already-dumped', `skipped, but for "${data.reason}"`);
      const records = await stack.store.records.listDumps(500);
      const taken = records.filter((r) => targetIs(`${NS}/shop-api/app`)(r) && r.state !== 'skipped');
      check(taken.length === 1, `${taken.length} dumps of shop-api were taken`);
      note(`decide-dump replied dump.skipped: ${data.reason} (${data.detail ?? ''})`);
    },
  },
  {
    title: 'A JVM dies of OutOfMemoryError; after the restart its dump is collected',
    needs: ['decide-dump', 'exec-dump', 'upload-dump', 'release-token'],
    async run(stack, note) {
      await stack.emulator.addPods(
        await readFile(join(projectRoot, 'test/fixtures/pods/demo-oom.yaml'), 'utf8'),
      );
      note('demo/orders started: java -Xmx48m -XX:+HeapDumpOnOutOfMemoryError, allocating 4 MiB every 10 ms');
      const [record] = await waitForDumps(stack, targetIs(`${NS}/orders/app`), { timeoutMs: 150_000 });
      const status = podStatus(stack, 'orders')?.containerStatuses?.[0];
      const terminated = status?.lastState?.terminated;
      note(
        `restartCount ${status?.restartCount}, last state terminated: ${terminated?.reason} (exit ${terminated?.exitCode})`,
      );
      check(record!.mode === 'collect', `the dump was taken in mode ${record!.mode}, not collect`);
      checkStored(record!, note);
      await waitForTokensReleased(stack, 30_000);
    },
  },
  {
    title: 'Three pods alert at once with one token: served one after another',
    needs: ['alert-bridge', 'decide-dump', 'exec-dump', 'upload-dump', 'release-token'],
    async run(stack, note) {
      const pods = ['batch-1', 'batch-2', 'batch-3'];
      check((await tokensHeld(stack)) === 0, 'a token is still held from an earlier step');
      const response = await postAlerts(
        stack,
        pods.map((pod) => ({ namespace: NS, pod })),
      );
      check(response.ok, `alert-bridge answered ${response.status}`);
      const targets = new Set(pods.map((pod) => `${NS}/${pod}/worker`));
      const records = await waitForDumps(stack, (r) => targets.has(r.target ?? ''), {
        count: 3,
        timeoutMs: 240_000,
      });
      for (const record of records.sort((a, b) => (a.approvedAt ?? 0) - (b.approvedAt ?? 0))) {
        checkStored(record, note);
      }
      check(oneAtATime(records), 'two dumps held tokens at the same time');
      const waited = records.filter((r) => r.deferredAt).length;
      check(waited >= 2, `only ${waited} of 3 waited in the queue`);
      note(`one token: ${waited} of 3 waited in the queue, each started after the one before was stored`);
      await waitForTokensReleased(stack, 30_000);
    },
  },
];

/**
 * Runs the story step by step; a step that fails is reported and the story goes on where it can. Once
 * `signal` is aborted no further step starts.
 */
export async function runStory(
  stack: DevStack,
  report: {
    start(index: number, title: string): void;
    note(line: string): void;
    end(result: StepResult): void;
  },
  signal?: AbortSignal,
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const [index, step] of steps.entries()) {
    if (signal?.aborted) break;
    report.start(index + 1, step.title);
    const started = performance.now();
    const lines: string[] = [];
    const note = (line: string) => {
      lines.push(line);
      report.note(line);
    };
    let ok = true;
    const missing = step.needs.filter((name) => !stack.functions[name]);
    try {
      check(missing.length === 0, `needs ${missing.join(', ')}, not written yet`);
      await step.run(stack, note);
    } catch (error) {
      ok = false;
      note(`FAILED: ${(error as Error).message}`);
    }
    const result = { title: step.title, ok, seconds: (performance.now() - started) / 1000, lines };
    report.end(result);
    results.push(result);
  }
  return results;
}
