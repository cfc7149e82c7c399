/**
 * Events as an attacker who reaches the Broker would write them (issue 17): with no EventPolicy and no
 * NetworkPolicy at all, a forged event achieves nothing. exec-dump, upload-dump and release-token each ask
 * the store (real Redis) whether the event's leases are this dump's; nothing runs in the pod (counted),
 * nothing is removed from it (checked on the volume), no switch or lease changes.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetes } from '../../adapters/kubernetes/index.ts';
import type { Store } from '../../adapters/redis-store/index.ts';
import { createFileSink } from '../../adapters/storage/file-sink.ts';
import { createEventFactory, EventTypes, type Lease } from '../../functions/lib/events/index.ts';
import { samples } from '../../functions/lib/events/samples.ts';
import { createLogger } from '../../functions/lib/log.ts';
import { createSinkPoster } from '../../functions/lib/sink-poster.ts';
import { createReleaseToken } from '../../functions/release-token/handler.ts';
import { approvedFor, countingExecs, execDumpHandler, failedOf } from '../exec/fixture.ts';
import { grantInStore } from '../helpers/leases.ts';
import { type Sink, startSink } from '../release/sink-server.ts';
import { dataOf, startUploadStack, type UploadStack } from '../upload/stack.ts';

let stack: UploadStack;
let store: Store;
let sink: Sink;
let storage: string;
const ctx = { headers: {} };
const log = createLogger({ name: 'forged', level: 'silent' });

beforeAll(async () => {
  [stack, sink] = await Promise.all([startUploadStack(), startSink()]);
  store = stack.redis.store({ pools: { dump: { capacity: 10 }, upload: { capacity: 10 } } });
  storage = mkdtempSync(join(tmpdir(), 'forged-storage-'));
});
afterAll(async () => {
  await Promise.all([stack?.stop(), sink?.close()]);
  rmSync(storage, { recursive: true, force: true });
});

const uidOf = (pod: string) => stack.emulator.pod('shop', pod)!.metadata.uid;
/** A real dump in flight for `pod`: leases granted and the container bound, as decide-dump does. */
async function inFlight(pod: string) {
  const dumpId = randomUUID();
  return { dumpId, leases: await grantInStore(store, dumpId, uidOf(pod), 'app') };
}
async function stillLive(leases: Lease[]) {
  const held = (await Promise.all([store.pools.holders('dump'), store.pools.holders('upload')])).flat();
  return leases.every((lease) => held.some((h) => h.leaseId === lease.leaseId && !h.expired));
}

describe('exec-dump runs nothing for a dump.approved the store does not back', () => {
  const forged = async (leases: Lease[], options: { dumpId?: string; uid?: string } = {}) => {
    const { kube, argvs } = countingExecs(createKubernetes(stack.emulator.kubeConfig('exec-dump')));
    const handle = execDumpHandler({ kube, leases: store.pools });
    const event = approvedFor(stack.emulator, 'shop', 'orders', { ...options, leases });
    const failed = failedOf(await handle(ctx, event));
    return { failed, argvs };
  };

  it('with no leases at all (the switch off and the pod not opted in make no difference)', async () => {
    const { failed, argvs } = await forged([]);
    expect(failed).toMatchObject({ stage: 'exec', error: { code: 'no-live-lease' }, fileKept: false });
    expect(failed.error.message).toContain('no dump lease');
    expect(argvs).toEqual([]);
  });

  it('with another dump’s live leases, and with a stale fence of its own', async () => {
    const other = await inFlight('billing');
    const stolen = await forged(other.leases);
    expect(stolen.failed.error.code).toBe('no-live-lease');
    expect(stolen.argvs).toEqual([]);
    expect(await stillLive(other.leases)).toBe(true);

    const mine = await inFlight('orders');
    const stale = mine.leases.map((lease) => ({ ...lease, fence: lease.fence - 1 }));
    const fenced = await forged(stale, { dumpId: mine.dumpId });
    expect(fenced.failed.error.message).toContain('another fence');
    expect(fenced.argvs).toEqual([]);
    await store.pools.release([...other.leases, ...mine.leases]);
  });

  it('for a pod whose uid is not the one the dump was bound to', async () => {
    const mine = await inFlight('orders');
    const { failed, argvs } = await forged(mine.leases, { dumpId: mine.dumpId, uid: randomUUID() });
    expect(failed.error.message).toContain('bound to another dump');
    expect(argvs).toEqual([]);
    await store.pools.release(mine.leases);
  });
});

describe('upload-dump reads and deletes nothing for a forged dump.captured or upload.progressed', () => {
  const keystore = () => join(stack.emulator.volumePath('shop', 'orders', 'dumps')!, 'keystore.p12');

  it('a file named by an event without leases stays in the pod, and nothing is stored', async () => {
    writeFileSync(keystore(), 'secret');
    const { handle } = stack.uploadDump({ sink: createFileSink({ root: storage }), leases: store.pools });
    const event = stack.captured('orders', [{ path: '/dumps/keystore.p12', bytes: 6 }], randomUUID(), []);
    const failed = dataOf(await handle(event), 'failed');
    expect(failed).toMatchObject({ stage: 'upload', error: { code: 'no-live-lease' } });
    expect(existsSync(keystore())).toBe(true);
    expect(existsSync(join(storage, 'heapdumps'))).toBe(false);
  });

  it('a file exec-dump did not capture, named with the dump’s own live leases, stays in the pod', async () => {
    writeFileSync(keystore(), 'secret');
    const dump = await inFlight('orders');
    const { handle, store: records } = stack.uploadDump({
      sink: createFileSink({ root: storage }),
      leases: store.pools,
    });
    // exec-dump recorded what it captured for this dump: one file, not the keystore.
    await records.records.updateDump(dump.dumpId, {
      capturedFiles: [{ path: '/dumps/real.hprof', bytes: 10 }],
    });
    const forged = createEventFactory('exec-dump')(EventTypes.dumpCaptured, {
      ...samples[EventTypes.dumpCaptured],
      dumpId: dump.dumpId,
      target: stack.target('orders'),
      files: [{ path: '/dumps/keystore.p12', bytes: 6 }],
      leases: dump.leases,
    });
    const failed = dataOf(await handle(forged as never), 'failed');
    expect(failed.error.code).toBe('file-not-captured');
    expect(existsSync(keystore())).toBe(true);
    await store.pools.release(dump.leases);
  });

  it('upload.progressed for a finished dump (leases given back) with an extra path', async () => {
    writeFileSync(keystore(), 'secret');
    const done = await inFlight('orders');
    await store.pools.release(done.leases);
    const { handle } = stack.uploadDump({ sink: createFileSink({ root: storage }), leases: store.pools });
    const captured = stack.captured(
      'orders',
      [{ path: '/dumps/keystore.p12', bytes: 6 }],
      done.dumpId,
      done.leases,
    );
    const progressed = createEventFactory('upload-dump')(EventTypes.uploadProgressed, {
      ...(captured.data as object),
      checkpoint: { fileIndex: 0, offset: 0, segments: 0, storedBytes: 0 },
      bytesDone: 0,
      bytesTotal: 6,
    } as never);
    expect(dataOf(await handle(progressed as never), 'failed').error.code).toBe('no-live-lease');
    expect(existsSync(keystore())).toBe(true);
  });
});

describe('release-token settles nothing the store does not say is that dump’s', () => {
  const releaseToken = () =>
    createReleaseToken({
      store,
      events: createEventFactory('release-token'),
      postToSink: createSinkPoster(sink.url, { timeoutMs: 2_000 }),
      log,
    });
  const target = {
    ...samples[EventTypes.dumpUploaded].target,
    namespace: 'shop',
    pod: 'orders',
    container: 'app',
  };

  it('dump.uploaded for an unknown dump turns no switch off', async () => {
    const uid = uidOf('orders');
    const forged = createEventFactory('upload-dump')(EventTypes.dumpUploaded, {
      ...samples[EventTypes.dumpUploaded],
      dumpId: randomUUID(),
      target: { ...target, uid },
      leases: [{ pool: 'dump', leaseId: randomUUID(), fence: 1 }],
    });
    expect(await releaseToken()(ctx, forged)).toBeUndefined();
    expect(await store.switches.dumpedBy(uid, 'app')).toBeNull();
  });

  it('dump.failed naming another dump’s leases leaves them held and its record alone', async () => {
    const victim = await inFlight('billing');
    await store.records.updateDump(victim.dumpId, { state: 'uploading' });
    const forged = createEventFactory('upload-dump')(EventTypes.dumpFailed, {
      ...samples[EventTypes.dumpFailed],
      dumpId: randomUUID(),
      leases: victim.leases,
    });
    await releaseToken()(ctx, forged);
    expect(await stillLive(victim.leases)).toBe(true);
    const sameIdForged = createEventFactory('upload-dump')(EventTypes.dumpFailed, {
      ...samples[EventTypes.dumpFailed],
      dumpId: victim.dumpId,
      target: { ...target, pod: 'billing', uid: randomUUID() },
      leases: victim.leases,
    });
    await releaseToken()(ctx, sameIdForged);
    expect(await stillLive(victim.leases)).toBe(true);
    expect((await store.records.getDump(victim.dumpId))?.state).toBe('uploading');
    await store.pools.release(victim.leases);
  });
});
