import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventTypes } from '../../functions/lib/events/index.ts';
import { type Services, startServices } from '../broker/services.ts';
import { alertFor, finishDump, incoming, manualRequest, tokenReleased } from './fixtures.ts';
import { type DecideServer, type DecideStack, sleepingPod, startDecideStack } from './stack.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const pods = `${sleepingPod('shop', 'app-1')}${sleepingPod('shop', 'app-2')}${sleepingPod('shop', 'app-3')}
apiVersion: v1
kind: Pod
metadata: { name: plain, namespace: shop, labels: { app: plain } }
spec: { containers: [{ name: app, command: [sleep, "3600"] }] }
---
apiVersion: v1
kind: Pod
metadata:
  name: two
  namespace: shop
  labels: { heapdump.dev/enabled: "true" }
  annotations: { heapdump.dev/container: jvm }
spec:
  containers:
    - { name: proxy, command: [sleep, "3600"] }
    - { name: jvm, command: [sleep, "3600"] }
---
apiVersion: v1
kind: Pod
metadata: { name: crashy, namespace: shop, labels: { heapdump.dev/enabled: "true" } }
spec: { containers: [{ name: app, command: [sh, -c, "sleep 0.3; exit 3"] }] }
`;

let stack: DecideStack;
let source: Services;
beforeAll(async () => {
  source = await startServices({ source: () => ({ status: 202 }) });
  stack = await startDecideStack({ pods });
  stack.emulator.setSink(source.url('source'), 'heapdump.dev/enabled=true');
});
afterAll(async () => {
  // A crash-looping container may be between runs: deleting its pod first lets the emulator stop cleanly.
  await stack?.emulator.deletePod('shop', 'crashy');
  await stack?.stop();
  await source?.close();
});

const uidOf = (name: string) => stack.emulator.pod('shop', name)!.metadata.uid;
const targetOf = (name: string, container = 'app') => ({
  namespace: 'shop',
  pod: name,
  uid: uidOf(name),
  container,
  node: (stack.emulator.pod('shop', name)!.spec as { nodeName: string }).nodeName,
});

describe('decide-dump over HTTP: the way through tokens and queue', () => {
  it('approves (binary), defers (structured), serves the queue on token.released, idles on sweep', async () => {
    const decide = await stack.decideDump({ capacity: 1 });
    const traceId = 'ab'.repeat(16);
    const alert = alertFor('shop', 'app-1');
    const approved = await decide.send(alert, 'binary', {
      traceparent: `00-${traceId}-${'cd'.repeat(8)}-01`,
    });
    expect(approved.status).toBe(200);
    const event = approved.event!;
    expect(event.type).toBe(EventTypes.dumpApproved);
    expect(event.source).toBe('/heapdump/decide-dump');
    expect(event.subject).toBe('shop/app-1/app');
    expect(event.datacontenttype).toMatch(/^application\/json/);
    expect(String(event.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const data = event.data!;
    expect(data.dumpId).toMatch(UUID);
    expect(event.dumpid).toBe(data.dumpId);
    expect(data.target).toEqual(targetOf('app-1'));
    expect(data.mode).toBe('live');
    expect(data.reason).toBe('HighMemoryUsage');
    expect(data.trigger).toEqual({ type: EventTypes.alertFiring, id: alert.id, reason: 'alert' });
    expect(data.leases).toEqual([
      { pool: 'dump', leaseId: expect.stringMatching(UUID), fence: 1 },
      { pool: 'upload', leaseId: expect.stringMatching(UUID), fence: 1 },
    ]);
    expect(await decide.store.records.getDump(data.dumpId as string)).toMatchObject({
      state: 'approved',
      target: 'shop/app-1/app',
      mode: 'live',
    });

    const deferred = await decide.send(manualRequest('shop', 'app-2'), 'structured');
    expect(deferred.status).toBe(200);
    expect(deferred.event!.type).toBe(EventTypes.dumpDeferred);
    expect(deferred.event!.subject).toBe('shop/app-2/app');
    const deferredData = deferred.event!.data!;
    expect(deferredData).toEqual({
      dumpId: expect.stringMatching(UUID),
      target: targetOf('app-2'),
      mode: 'live',
      position: 1,
    });
    expect(await decide.store.records.getDump(deferredData.dumpId as string)).toMatchObject({
      state: 'deferred',
    });

    const queuedAgain = await decide.send(alertFor('shop', 'app-2'), 'structured');
    expect(queuedAgain.event!.type).toBe(EventTypes.dumpSkipped);
    expect(queuedAgain.event!.data).toEqual({
      target: targetOf('app-2'),
      reason: 'already-queued',
      detail: `dump ${deferredData.dumpId} for this container waits at position 1`,
    });

    const stillHeld = await decide.send(tokenReleased());
    expect(stillHeld.status).toBe(204);
    await finishDump(decide.store, data as never);
    const served = await decide.send(tokenReleased());
    expect(served.event!.type).toBe(EventTypes.dumpApproved);
    expect(served.event!.id).toBe(`${deferredData.dumpId}:approved`);
    expect(served.event!.data).toEqual({
      dumpId: deferredData.dumpId,
      target: targetOf('app-2'),
      mode: 'live',
      reason: 'ticket 42',
      trigger: { type: EventTypes.dumpRequested, id: expect.any(String), reason: 'manual' },
      leases: [
        { pool: 'dump', leaseId: expect.stringMatching(UUID), fence: 2 },
        { pool: 'upload', leaseId: expect.stringMatching(UUID), fence: 2 },
      ],
    });
    expect(await decide.store.records.getDump(deferredData.dumpId as string)).toMatchObject({
      state: 'approved',
    });
    const sweep = incoming(
      EventTypes.sweep,
      {},
      { source: '/apis/v1/namespaces/heapdump/pingsources/heapdump-sweep' },
    );
    expect((await decide.send(sweep, 'structured')).status).toBe(204);
  });
});

describe('decide-dump over HTTP: one skip per reason', () => {
  let decide: DecideServer;
  beforeAll(async () => {
    decide = await stack.decideDump({ capacity: 5 });
  });

  it.each([
    ['not-opted-in', 'plain', 'the pod is not labelled heapdump.dev/enabled=true'],
    ['not-found', 'ghost', 'the pod does not exist'],
  ])('%s', async (reason, pod, detail) => {
    const reply = await decide.send(alertFor('shop', pod), 'binary');
    expect(reply.event!.type).toBe(EventTypes.dumpSkipped);
    const target = pod === 'ghost' ? { namespace: 'shop', pod } : targetOf(pod);
    delete (target as { container?: string }).container;
    expect(reply.event!.data).toEqual({ target, reason, detail });
  });

  it('disabled, already-dumped, duplicate, and a forced request past the switch', async () => {
    await decide.store.switches.setGlobal(false);
    const off = await decide.send(alertFor('shop', 'app-3'), 'structured');
    expect(off.event!.data).toEqual({
      target: { namespace: 'shop', pod: 'app-3' },
      reason: 'disabled',
      detail: 'the global switch is off',
    });
    await decide.store.switches.setGlobal(true);
    const alert = alertFor('shop', 'app-3');
    const first = await decide.send(alert);
    expect(first.event!.type).toBe(EventTypes.dumpApproved);
    const again = await decide.send(alert, 'structured');
    expect(again.event!.data).toEqual({
      target: targetOf('app-3'),
      reason: 'duplicate',
      detail: `event ${alert.id} from ${alert.source} was seen before`,
    });
    await finishDump(decide.store, first.event!.data as never);
    const dumped = await decide.send(alertFor('shop', 'app-3', { startsAt: '2026-11-23T12:00:00Z' }));
    expect(dumped.event!.data).toEqual({
      target: targetOf('app-3'),
      reason: 'already-dumped',
      detail: `dump ${first.event!.data!.dumpId} was taken; reset the switch for another`,
    });
    const forced = await decide.send(manualRequest('shop', 'app-3', { force: true }), 'structured');
    expect(forced.event!.type).toBe(EventTypes.dumpApproved);
  });

  it('picks the annotated container, and refuses a container the pod does not have with 422', async () => {
    const annotated = await decide.send(alertFor('shop', 'two', { container: 'proxy' }));
    expect(annotated.event!.data!.target).toEqual(targetOf('two', 'jvm'));
    const wrong = await decide.send(manualRequest('shop', 'app-1', { container: 'sidecar' }));
    expect(wrong.status).toBe(422);
    expect(wrong.text).toBe(
      'the request names container "sidecar", but the pod shop/app-1 has container app',
    );
  });
});

describe('decide-dump over HTTP: pod updates from the ApiServerSource', () => {
  it('approves a restart of a crashing container in collect mode', async () => {
    const decide = await stack.decideDump({ capacity: 5 });
    const isRestart = (data: unknown) => {
      const status = (
        data as { status?: { containerStatuses?: { restartCount: number; lastState?: object }[] } }
      ).status?.containerStatuses?.[0];
      return Boolean(status && status.restartCount > 0 && 'terminated' in (status.lastState ?? {}));
    };
    const deadline = Date.now() + 20_000;
    let update = source
      .of('source')
      .find((r) => r.event?.subject?.endsWith('/pods/crashy') && isRestart(r.event.data));
    while (!update && Date.now() < deadline) {
      await sleep(100);
      update = source
        .of('source')
        .find((r) => r.event?.subject?.endsWith('/pods/crashy') && isRestart(r.event.data));
    }
    expect(update?.event?.type).toBe(EventTypes.podUpdated);
    const reply = await decide.send(update!.event!);
    expect(reply.event!.type).toBe(EventTypes.dumpApproved);
    expect(reply.event!.data).toMatchObject({
      target: targetOf('crashy'),
      mode: 'collect',
      reason: 'Error',
      trigger: { type: EventTypes.podUpdated, id: update!.event!.id, reason: 'restart' },
    });
  });
});
