import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventTypes } from '../../functions/lib/events/index.ts';
import { type Received, type Services, startServices } from '../broker/services.ts';
import { alertFor, finishDump, tokenReleased } from './fixtures.ts';
import { type Answer, type DecideStack, sleepingPod, startDecideStack } from './stack.ts';

const STORM = 100;
const names = Array.from({ length: STORM }, (_, i) => `storm-${String(i).padStart(3, '0')}`);
const crasher = `
apiVersion: v1
kind: Pod
metadata: { name: crasher, namespace: loop, labels: { heapdump.dev/enabled: "true" } }
spec: { containers: [{ name: app, command: [sh, -c, "sleep 0.2; exit 1"] }] }
`;

let stack: DecideStack;
let source: Services;
beforeAll(async () => {
  source = await startServices({ source: () => ({ status: 202 }) });
  const pods = `${names.map((name) => sleepingPod('storm', name)).join('')}${sleepingPod('loop', 'steady')}${crasher}`;
  stack = await startDecideStack({ pods, timing: { backoffBaseMs: 100, backoffMaxMs: 300 } });
  stack.emulator.setSink(source.url('source'), 'heapdump.dev/enabled=true');
}, 180_000);
afterAll(async () => {
  await stack?.emulator.deletePod('loop', 'crasher');
  await stack?.stop();
  await source?.close();
});

type Data = { dumpId: string; target: { pod: string; uid: string; container: string }; position?: number };
const dataOf = (answer: Answer) => answer.event!.data as unknown as Data;
const typeOf = (answer: Answer) => answer.event?.type ?? `HTTP ${answer.status}`;

describe('a storm of alerts with one token', () => {
  it('approves 1, defers 99, and drains them one at a time in arrival order, none lost or twice', async () => {
    const decide = await stack.decideDump({ capacity: 1 });
    const replies = await Promise.all(names.map((name) => decide.send(alertFor('storm', name))));
    const approved = replies.filter((r) => typeOf(r) === EventTypes.dumpApproved);
    const deferred = replies.filter((r) => typeOf(r) === EventTypes.dumpDeferred);
    expect(approved).toHaveLength(1);
    expect(deferred).toHaveLength(STORM - 1);
    const byPosition = deferred.map(dataOf).sort((a, b) => a.position! - b.position!);
    expect(byPosition.map((d) => d.position)).toEqual(Array.from({ length: STORM - 1 }, (_, i) => i + 1));
    expect((await decide.store.queue.list()).map((q) => q.dumpId)).toEqual(byPosition.map((d) => d.dumpId));

    const served: string[] = [dataOf(approved[0]!).target.pod];
    let holding = dataOf(approved[0]!);
    for (let i = 0; i < STORM - 1; i++) {
      const busy = await decide.send(tokenReleased());
      expect(busy.status, 'nothing is served while the token is held').toBe(204);
      await finishDump(decide.store, holding as never);
      const next = await decide.send(tokenReleased());
      expect(typeOf(next)).toBe(EventTypes.dumpApproved);
      holding = dataOf(next);
      expect(holding.dumpId).toBe(byPosition[i]!.dumpId);
      served.push(holding.target.pod);
    }
    await finishDump(decide.store, holding as never);
    expect((await decide.send(tokenReleased())).status).toBe(204);
    expect(new Set(served).size).toBe(STORM);
    expect([...served].sort()).toEqual(names);
    expect(await decide.store.queue.length()).toBe(0);
    expect(await decide.store.pools.holders('dump')).toEqual([]);
  });
});

describe('duplicates', () => {
  it('approves the same alert delivered 10 times once', async () => {
    const decide = await stack.decideDump({ capacity: 1 });
    const alert = alertFor('loop', 'steady');
    const replies = await Promise.all(Array.from({ length: 10 }, () => decide.send(alert)));
    expect(replies.map(typeOf).filter((type) => type === EventTypes.dumpApproved)).toHaveLength(1);
    expect(replies.map((r) => r.event?.data?.reason).filter((reason) => reason === 'duplicate')).toHaveLength(
      9,
    );
  });

  it('approves one dump for a container that restarts 5 times, and another only after a reset', async () => {
    const decide = await stack.decideDump({ capacity: 1 });
    const updates = (await crasherUpdates((count) => count >= 5)).filter((u) => restartCountOf(u) <= 5);
    const replies: Answer[] = [];
    for (const update of updates) replies.push(await decide.send(update.event!));
    const approvals = replies.filter((r) => typeOf(r) === EventTypes.dumpApproved).map(dataOf);
    expect(approvals).toHaveLength(1);
    expect(replies.filter((r) => typeOf(r) === EventTypes.dumpDeferred)).toHaveLength(1);
    // The dump is stored (release-token turns the switch off), and the queued restart is no longer wanted.
    await finishDump(decide.store, approvals[0] as never);
    const queued = await decide.send(tokenReleased());
    expect(queued.event?.data).toMatchObject({ reason: 'already-dumped' });

    const later = (await crasherUpdates((count) => count > 6)).filter((u) => restartCountOf(u) > 5);
    const laterReplies = await Promise.all(later.map((update) => decide.send(update.event!)));
    expect(laterReplies.map(typeOf)).not.toContain(EventTypes.dumpApproved);
    expect(laterReplies.map((r) => r.event?.data?.reason)).toContain('already-dumped');

    await decide.store.switches.reset({ uid: approvals[0]!.target.uid, container: 'app' });
    const posted = Math.max(...later.map(restartCountOf));
    const afterReset = await crasherUpdates((count) => count > posted);
    const resetReplies: Answer[] = [];
    for (const update of afterReset.filter((u) => restartCountOf(u) > posted)) {
      resetReplies.push(await decide.send(update.event!));
    }
    expect(resetReplies.filter((r) => typeOf(r) === EventTypes.dumpApproved)).toHaveLength(1);
  });
});

function restartCountOf(update: Received): number {
  const data = update.event!.data as { status?: { containerStatuses?: { restartCount: number }[] } };
  return data.status?.containerStatuses?.[0]?.restartCount ?? 0;
}

/** The crasher's updates as the ApiServerSource sent them, once one reports a restart count that `enough`. */
async function crasherUpdates(enough: (count: number) => boolean): Promise<Received[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const updates = source
      .of('source')
      .filter((r) => r.event?.type === EventTypes.podUpdated && r.event.subject?.endsWith('/pods/crasher'));
    if (updates.some((update) => enough(restartCountOf(update)))) return updates;
    if (Date.now() > deadline) throw new Error('the crasher did not restart often enough');
    await sleep(100);
  }
}
