import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceTree } from '../../cli/commands/trace.ts';
import {
  pathOf,
  postAlerts,
  targetIs,
  tokensHeld,
  waitForDumps,
  waitForJvms,
  waitForTokensReleased,
} from '../../dev/stack/drive.ts';
import { projectRoot } from '../../dev/stack/index.ts';
import { EventTypes } from '../../functions/lib/events/index.ts';
import { type E2eStack, jvmPod, startE2eStack } from './stack.ts';

const NS = 'e2e';
let stack: E2eStack;

beforeAll(async () => {
  stack = await startE2eStack({ pods: jvmPod(NS, 'api', 24) });
  await waitForJvms(stack, [{ namespace: NS, pod: 'api' }], { mainClass: 'Hog', timeoutMs: 90_000 });
}, 240_000);
afterAll(() => stack?.stop(), 60_000);

describe('the chain over the local Broker, real processes throughout', () => {
  it('alert → dump taken in the pod, stored gzipped with its .json, tokens released, switch off', async () => {
    const response = await postAlerts(stack, [{ namespace: NS, pod: 'api' }]);
    expect(response.status).toBe(200);

    const [record] = await waitForDumps(stack, targetIs(`${NS}/api/app`), { timeoutMs: 120_000 });
    expect(record).toMatchObject({ state: 'uploaded', mode: 'live' });
    const stored = pathOf(record!.location)!;
    expect(stored.startsWith(stack.storage.dir!)).toBe(true);
    const raw = gunzipSync(readFileSync(stored));
    expect(raw.subarray(0, 18).toString()).toBe('JAVA PROFILE 1.0.2');
    expect(raw.length).toBe(record!.rawBytes);
    expect(raw.length).toBeGreaterThan(24 * 2 ** 20);
    const metadata = JSON.parse(readFileSync(pathOf(record!.metadataLocation)!, 'utf8'));
    expect(JSON.stringify(metadata)).toContain(record!.dumpId);

    await waitForTokensReleased(stack, 30_000);
    const switches = await stack.store.switches.listDumped();
    expect(switches.map((s) => s.dumpId)).toContain(record!.dumpId);
    // The dump left the pod once stored.
    const dumps = stack.emulator.volumePath(NS, 'api', 'dumps')!;
    expect(existsSync(join(dumps, record!.files?.[0]?.path.split('/').pop() ?? 'x'))).toBe(false);

    // One trace links every hop of the dump, from the alert to the release.
    const traceIds = new Set(
      stack.broker.trace
        .entries()
        .filter((e) => e.dumpid === record!.dumpId)
        .map((e) => e.traceId),
    );
    expect(traceIds.size).toBe(1);
  }, 180_000);

  it('a repeat alert for the dumped container is skipped: already-dumped', async () => {
    const since = stack.display!.events().length;
    await postAlerts(stack, [{ namespace: NS, pod: 'api', startsAt: new Date().toISOString() }]);
    const skipped = await stack.display!.waitFor((e) => e.type === EventTypes.dumpSkipped, {
      timeoutMs: 30_000,
      after: since,
    });
    expect(skipped.data).toMatchObject({ reason: 'already-dumped', target: { pod: 'api' } });
  }, 60_000);

  it('container restart after OutOfMemoryError → the dump the JVM wrote is collected', async () => {
    const oom = await readFile(join(projectRoot, 'test/fixtures/pods/demo-oom.yaml'), 'utf8');
    await stack.emulator.addPods(oom.replace(/namespace: demo/, `namespace: ${NS}`));

    const [record] = await waitForDumps(stack, targetIs(`${NS}/orders/app`), { timeoutMs: 150_000 });
    expect(record).toMatchObject({ state: 'uploaded', mode: 'collect' });
    const raw = gunzipSync(readFileSync(pathOf(record!.location)!));
    expect(raw.subarray(0, 18).toString()).toBe('JAVA PROFILE 1.0.2');
    const status = stack.emulator.pod(NS, 'orders')!.status as {
      containerStatuses: { restartCount: number; lastState: { terminated?: { exitCode: number } } }[];
    };
    expect(status.containerStatuses[0]!.restartCount).toBe(1);
    // The ApiServerSource's pod update is what started it: the root of the dump's trace.
    const tree = traceTree(stack.broker.trace.entries(), record!.dumpId);
    expect(tree.roots.map((id) => tree.nodes.get(id)?.type)).toContain(EventTypes.podUpdated);
    await waitForTokensReleased(stack, 30_000);
    expect(await tokensHeld(stack)).toBe(0);
  }, 200_000);
});
