import type { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../adapters/redis-store/index.ts';
import {
  alertFor,
  finishDump,
  incoming,
  keysUnder,
  manualRequest,
  sequentialUuids,
  tokenReleased,
} from '../../test/decide/fixtures.ts';
import { startTestRedis, type TestRedis } from '../../test/helpers/redis.ts';
import { createEventFactory, EventTypes, type Pod } from '../lib/events/index.ts';
import { samples } from '../lib/events/samples.ts';
import { createLogger } from '../lib/log.ts';
import { createDecideDump } from './handler.ts';

const NOW = Date.parse('2026-11-23T10:15:00Z');
const log = createLogger({ level: 'silent' });

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

interface PodSpec {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  containers?: string[];
  restartCount?: number;
  finishedAt?: string;
  waiting?: string;
  uid?: string;
}

/** A pod as the API server returns it (tiny in-test pod source: unit tests only). */
function pod(spec: PodSpec): Pod {
  const containers = spec.containers ?? ['app'];
  const restarted = (spec.restartCount ?? 0) > 0;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name,
      namespace: 'shop',
      uid: spec.uid ?? `uid-${spec.name}`,
      labels: spec.labels ?? { 'heapdump.dev/enabled': 'true' },
      annotations: spec.annotations ?? {},
    },
    spec: { nodeName: 'node-1', containers: containers.map((name) => ({ name })) },
    status: {
      phase: 'Running',
      containerStatuses: containers.map((name) => ({
        name,
        restartCount: spec.restartCount ?? 0,
        state: spec.waiting
          ? { waiting: { reason: spec.waiting } }
          : { running: { startedAt: '2026-11-23T10:14:00Z' } },
        lastState: restarted
          ? {
              terminated: {
                exitCode: 137,
                reason: 'OOMKilled',
                finishedAt: spec.finishedAt ?? '2026-11-23T10:13:59Z',
              },
            }
          : {},
      })),
    },
  };
}

function setup(pods: Pod[], options: { capacity?: number } = {}) {
  const store = redis.store({
    now: () => NOW,
    pools: { dump: { capacity: options.capacity ?? 1 }, upload: { capacity: options.capacity ?? 1 } },
  });
  const byName = new Map(pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  const handler = createDecideDump({
    store,
    pods: { getPod: async (namespace, name) => byName.get(`${namespace}/${name}`) ?? null },
    events: createEventFactory('decide-dump', { clock: () => new Date(NOW) }),
    uuid: sequentialUuids(),
    now: () => NOW,
    log,
  });
  const decide = async (event: CloudEvent<unknown>, headers: Record<string, string> = {}) =>
    (await handler({ headers }, event)) as CloudEvent<Record<string, unknown>> | undefined;
  return { store, decide, byName };
}

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('decide-dump: alerts and manual requests', () => {
  it('approves an alert with both tokens, recording the dump', async () => {
    const { store, decide } = setup([pod({ name: 'p1' })]);
    const alert = alertFor('shop', 'p1');
    const traceparent = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
    const reply = await decide(alert, { traceparent });
    expect(reply?.type).toBe(EventTypes.dumpApproved);
    expect(reply?.source).toBe('/heapdump/decide-dump');
    expect(reply?.subject).toBe('shop/p1/app');
    expect(reply?.dumpid).toBe(uuid(1));
    expect(String(reply?.traceparent)).toMatch(new RegExp(`^00-${'ab'.repeat(16)}-[a-f0-9]{16}-01$`));
    expect(reply?.data).toEqual({
      dumpId: uuid(1),
      target: { namespace: 'shop', pod: 'p1', uid: 'uid-p1', container: 'app', node: 'node-1' },
      mode: 'live',
      reason: 'HighMemoryUsage',
      trigger: { type: EventTypes.alertFiring, id: alert.id, reason: 'alert' },
      leases: [
        { pool: 'dump', leaseId: uuid(2), fence: 1 },
        { pool: 'upload', leaseId: uuid(3), fence: 1 },
      ],
    });
    expect(await store.records.getDump(uuid(1))).toMatchObject({ state: 'approved', target: 'shop/p1/app' });
    expect((await store.pools.holders('dump')).map((h) => h.dumpId)).toEqual([uuid(1)]);
  });

  it('defers when the tokens are taken, once per container', async () => {
    const { store, decide } = setup([pod({ name: 'p1' }), pod({ name: 'p2' })]);
    await decide(alertFor('shop', 'p1'));
    const deferred = await decide(manualRequest('shop', 'p2'));
    expect(deferred?.type).toBe(EventTypes.dumpDeferred);
    expect(deferred?.data).toEqual({
      dumpId: uuid(4),
      target: { namespace: 'shop', pod: 'p2', uid: 'uid-p2', container: 'app', node: 'node-1' },
      mode: 'live',
      position: 1,
    });
    expect(await store.records.getDump(uuid(4))).toMatchObject({ state: 'deferred', reason: 'ticket 42' });
    const again = await decide(alertFor('shop', 'p2'));
    expect(again?.type).toBe(EventTypes.dumpSkipped);
    expect(again?.data).toMatchObject({ reason: 'already-queued', detail: expect.stringContaining(uuid(4)) });
    expect(await store.queue.length()).toBe(1);
  });

  it.each([
    ['disabled', async (store: Store) => store.switches.setGlobal(false), 'p1'],
    ['not-found', async () => {}, 'gone'],
    ['not-opted-in', async () => {}, 'shy'],
    ['not-running', async () => {}, 'crashing'],
  ])('skips with reason %s', async (reason, prepare, name) => {
    const { store, decide } = setup([
      pod({ name: 'p1' }),
      pod({ name: 'shy', labels: { 'heapdump.dev/enabled': 'false' } }),
      pod({ name: 'crashing', waiting: 'CrashLoopBackOff' }),
    ]);
    await prepare(store);
    const reply = await decide(alertFor('shop', name));
    expect(reply?.type).toBe(EventTypes.dumpSkipped);
    expect(reply?.data).toMatchObject({ reason, target: { namespace: 'shop', pod: name } });
    expect(await store.pools.holders('dump')).toEqual([]);
  });

  it('skips a duplicate, and a dumped container unless forced', async () => {
    const { store, decide } = setup([pod({ name: 'p1' })], { capacity: 5 });
    const alert = alertFor('shop', 'p1');
    const first = await decide(alert);
    expect((await decide(alert))?.data).toMatchObject({ reason: 'duplicate' });
    await finishDump(store, first!.data as never);
    const later = await decide(alertFor('shop', 'p1', { startsAt: '2026-11-23T11:00:00Z' }));
    expect(later?.data).toMatchObject({ reason: 'already-dumped', detail: expect.stringContaining(uuid(1)) });
    const forced = await decide(manualRequest('shop', 'p1', { force: true }));
    expect(forced?.type).toBe(EventTypes.dumpApproved);
  });

  it('never dumps a container twice at once, even with tokens to spare', async () => {
    const { store, decide } = setup([pod({ name: 'p1' })], { capacity: 5 });
    const first = await decide(alertFor('shop', 'p1'));
    const second = await decide(manualRequest('shop', 'p1'));
    expect(second?.data).toMatchObject({
      reason: 'in-progress',
      detail: `dump ${uuid(1)} of this container is in progress`,
    });
    expect((await store.pools.holders('dump')).map((h) => h.dumpId)).toEqual([uuid(1)]);
    // The first dump failed: its tokens come back without the switch turning off, so another may start.
    await store.pools.release((first!.data as { leases: never[] }).leases);
    expect((await decide(manualRequest('shop', 'p1')))?.type).toBe(EventTypes.dumpApproved);
  });

  it('picks the container: annotation, alert label, only one; a wrong name is a 422', async () => {
    const { decide } = setup(
      [
        pod({
          name: 'annotated',
          containers: ['app', 'jvm'],
          annotations: { 'heapdump.dev/container': 'jvm' },
        }),
        pod({ name: 'two', containers: ['app', 'proxy'] }),
        pod({ name: 'typo', containers: ['app'], annotations: { 'heapdump.dev/container': 'jvn' } }),
      ],
      { capacity: 9 },
    );
    expect((await decide(alertFor('shop', 'annotated', { container: 'app' })))?.subject).toBe(
      'shop/annotated/jvm',
    );
    expect((await decide(alertFor('shop', 'two', { container: 'proxy' })))?.subject).toBe('shop/two/proxy');
    expect((await decide(manualRequest('shop', 'annotated', { container: 'app' })))?.subject).toBe(
      'shop/annotated/app',
    );
    await expect(decide(alertFor('shop', 'two', { fingerprint: 'aa' }))).rejects.toMatchObject({
      code: 422,
      message: expect.stringMatching(/has containers app, proxy; annotate it with heapdump.dev\/container/),
    });
    await expect(decide(alertFor('shop', 'typo'))).rejects.toMatchObject({
      code: 422,
      message: expect.stringContaining('annotation heapdump.dev/container names container "jvn"'),
    });
    await expect(decide(manualRequest('shop', 'two', { container: 'db' }))).rejects.toMatchObject({
      code: 422,
    });
  });
});

describe('decide-dump: pod updates', () => {
  const update = (p: Pod) => incoming(EventTypes.podUpdated, p, { source: 'https://10.0.0.1:443' });

  it('approves a real restart in collect mode, once, and not the updates that follow', async () => {
    const { decide } = setup([pod({ name: 'p1', restartCount: 1 })]);
    const restart = await decide(update(pod({ name: 'p1', restartCount: 1 })));
    expect(restart?.type).toBe(EventTypes.dumpApproved);
    expect(restart?.data).toMatchObject({
      mode: 'collect',
      reason: 'OOMKilled',
      trigger: { reason: 'restart' },
    });
    const sameCount = await decide(update(pod({ name: 'p1', restartCount: 1 })));
    expect(sameCount?.data).toMatchObject({ reason: 'no-restart' });
  });

  it('counts a first-seen restart only inside the window, and any increase after that', async () => {
    const { decide } = setup([pod({ name: 'old', restartCount: 3 })], { capacity: 9 });
    const old = pod({ name: 'old', restartCount: 3, finishedAt: '2026-11-23T09:00:00Z' });
    expect((await decide(update(old)))?.data).toMatchObject({ reason: 'no-restart' });
    const next = pod({ name: 'old', restartCount: 4, finishedAt: '2026-11-23T09:00:00Z' });
    expect((await decide(update(next)))?.type).toBe(EventTypes.dumpApproved);
  });

  it('answers an update without any terminated container with no call at all', async () => {
    const { store, decide } = setup([]);
    await store.switches.setGlobal(false);
    const reply = await decide(update(pod({ name: 'fresh' })));
    expect(reply?.data).toMatchObject({ reason: 'no-restart', target: { pod: 'fresh', uid: 'uid-fresh' } });
  });

  it('skips an update about a pod that was replaced by one with the same name', async () => {
    const { decide } = setup([pod({ name: 'p1', uid: 'uid-new' })]);
    const reply = await decide(update(pod({ name: 'p1', restartCount: 1, uid: 'uid-old' })));
    expect(reply?.data).toMatchObject({ reason: 'not-found', target: { uid: 'uid-old' } });
  });
});

describe('decide-dump: serving the queue', () => {
  it('approves the head in arrival order, skipping heads whose switch went off meanwhile', async () => {
    const { store, decide } = setup(['p1', 'p2', 'p3', 'p4'].map((name) => pod({ name })));
    const first = await decide(alertFor('shop', 'p1'));
    for (const name of ['p2', 'p3', 'p4'])
      expect((await decide(alertFor('shop', name)))?.type).toBe(EventTypes.dumpDeferred);
    expect(await decide(tokenReleased())).toBeUndefined(); // tokens still held: nothing to serve
    await store.switches.markDumped('uid-p2', 'app', 'earlier-dump');
    await finishDump(store, first!.data as never);
    const served = await decide(tokenReleased());
    expect(served?.type).toBe(EventTypes.dumpApproved);
    expect(served?.data).toMatchObject({ target: { pod: 'p3' }, mode: 'live', reason: 'HighMemoryUsage' });
    expect(served?.id).toBe(`${(served!.data as { dumpId: string }).dumpId}:approved`);
    const skippedId = (await store.records.listDumps()).find((d) => d.target === 'shop/p2/app')!.dumpId;
    expect(await store.records.getDump(skippedId)).toMatchObject({
      state: 'skipped',
      skipReason: 'already-dumped',
    });
    expect(
      (await store.queue.list()).map((q) => (q.payload as { target: { pod: string } }).target.pod),
    ).toEqual(['p4']);
  });

  it('skips queued requests once the global switch is off, giving their tokens back', async () => {
    const { store, decide } = setup(['p1', 'p2'].map((name) => pod({ name })));
    const first = await decide(alertFor('shop', 'p1'));
    await decide(alertFor('shop', 'p2'));
    await store.switches.setGlobal(false);
    await finishDump(store, first!.data as never);
    const reply = await decide(
      incoming(EventTypes.sweep, {}, { source: '/apis/v1/namespaces/heapdump/pingsources/heapdump-sweep' }),
    );
    expect(reply?.data).toMatchObject({ reason: 'disabled', target: { pod: 'p2' } });
    expect(await store.pools.holders('dump')).toEqual([]);
    expect(await store.queue.length()).toBe(0);
  });
});

describe('decide-dump: a queued request checked again when served', () => {
  it.each([
    ['deleted', null, 'not-found'],
    ['replaced by a new pod of the same name', { name: 'p2', uid: 'uid-p2-new' }, 'not-found'],
    ['no longer opted in', { name: 'p2', labels: {} }, 'not-opted-in'],
  ] as const)(
    'skips it when its pod was %s meanwhile, giving the tokens back',
    async (_what, after, reason) => {
      const { store, decide, byName } = setup(['p1', 'p2'].map((name) => pod({ name })));
      const first = await decide(alertFor('shop', 'p1'));
      expect((await decide(alertFor('shop', 'p2')))?.type).toBe(EventTypes.dumpDeferred);
      if (after) byName.set('shop/p2', pod(after));
      else byName.delete('shop/p2');
      await finishDump(store, first!.data as never);
      const reply = await decide(tokenReleased());
      expect(reply?.type).toBe(EventTypes.dumpSkipped);
      expect(reply?.data).toMatchObject({ reason, target: { pod: 'p2' } });
      expect(await store.pools.holders('dump')).toEqual([]);
    },
  );
});

describe('decide-dump: failures and bad input', () => {
  it('gives the event and the tokens back when Redis fails after the claim, so the retry decides again', async () => {
    const { store, decide } = setup([pod({ name: 'p1' })]);
    const client = (await import('../../adapters/redis-store/index.ts')).createRedisClient({
      url: redis.restUrl,
      token: redis.token,
    });
    // A key of the wrong type makes the dump record write fail inside Redis, after the tokens were taken.
    await client.set(store.keys.dump(uuid(1)), 'not a hash');
    const alert = alertFor('shop', 'p1');
    await expect(decide(alert)).rejects.toMatchObject({ code: 503 });
    expect(await store.pools.holders('dump')).toEqual([]);
    expect(await keysUnder(redis, store.keys.prefix)).not.toContainEqual(expect.stringContaining(':seen:'));
    const retried = await decide(alert);
    expect(retried?.type).toBe(EventTypes.dumpApproved);
  });

  it('refuses unknown types and invalid names with 422 and writes nothing', async () => {
    const { store, decide } = setup([pod({ name: 'p1' })]);
    const bad = [
      incoming('com.example.unknown', {}),
      incoming(EventTypes.dumpApproved, samples[EventTypes.dumpApproved]),
      manualRequest('../../etc', 'p1'),
      manualRequest('shop', 'p1; rm -rf /'),
      manualRequest('shop', 'x'.repeat(10_000)),
      alertFor('shop', 'p1', { container: '$(reboot)' }),
      incoming(EventTypes.alertFiring, samples[EventTypes.alertFiring], { id: 'i'.repeat(600) }),
    ];
    for (const event of bad) await expect(decide(event), event.type).rejects.toMatchObject({ code: 422 });
    await expect(decide(manualRequest('shop', 'x'.repeat(10_000)))).rejects.toThrow(
      /pod: a pod name has at most 253/,
    );
    expect(await keysUnder(redis, store.keys.prefix)).toEqual([]);
  });
});
