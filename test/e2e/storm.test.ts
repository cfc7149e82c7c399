import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  oneAtATime,
  pathOf,
  postAlerts,
  tokensHeld,
  waitForDumps,
  waitForJvms,
  waitForTokensReleased,
} from '../../dev/stack/drive.ts';
import { type E2eStack, jvmPod, startE2eStack } from './stack.ts';

const NS = 'storm';
const PODS = Array.from({ length: 20 }, (_, i) => `pod-${String(i + 1).padStart(2, '0')}`);
let stack: E2eStack;

beforeAll(async () => {
  // Tiny heaps (2 MiB held, -Xmx16m): twenty JVMs start quickly and dump in a blink.
  stack = await startE2eStack({
    pods: PODS.map((pod) => jvmPod(NS, pod, 2, 16)).join(''),
    capacity: { dump: 1, upload: 1 },
  });
  await waitForJvms(
    stack,
    PODS.map((pod) => ({ namespace: NS, pod })),
    { mainClass: 'Hog', timeoutMs: 180_000 },
  );
}, 300_000);
afterAll(() => stack?.stop(), 60_000);

it('20 pods alerting at once with one token: 20 dumps, one at a time, none lost', async () => {
  // Twenty Alertmanager notifications at the same moment, one per pod.
  const answers = await Promise.all(PODS.map((pod) => postAlerts(stack, [{ namespace: NS, pod }])));
  expect(answers.map((a) => a.status)).toEqual(PODS.map(() => 200));

  const records = await waitForDumps(stack, (r) => r.target?.startsWith(`${NS}/`) ?? false, {
    count: PODS.length,
    timeoutMs: 240_000,
  });
  expect(records.map((r) => r.state)).toEqual(PODS.map(() => 'uploaded'));
  expect(new Set(records.map((r) => r.target))).toEqual(new Set(PODS.map((pod) => `${NS}/${pod}/app`)));
  expect(oneAtATime(records)).toBe(true);
  expect(records.filter((r) => r.deferredAt).length).toBeGreaterThanOrEqual(PODS.length / 2);

  const stored = PODS.flatMap((pod) =>
    readdirSync(join(stack.storage.dir!, NS, pod, 'app')).filter((f) => f.endsWith('.hprof.gz')),
  );
  expect(stored).toHaveLength(PODS.length);
  expect(records.every((r) => pathOf(r.location)?.startsWith(stack.storage.dir!))).toBe(true);
  await waitForTokensReleased(stack, 30_000);
  expect(await tokensHeld(stack)).toBe(0);
  expect(await stack.store.queue.list()).toEqual([]);
}, 300_000);
