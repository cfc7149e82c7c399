import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CloudEvent } from 'cloudevents';
import { createKubernetes } from '../../adapters/kubernetes/index.ts';
import { type Clock, systemClock } from '../../adapters/pipeline/clock.ts';
import type { Store } from '../../adapters/redis-store/index.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import {
  type AnyCloudEvent,
  createEventFactory,
  type DataOf,
  type DumpFile,
  EventTypes,
  type Lease,
  type Target,
} from '../../functions/lib/events/index.ts';
import { createLogger } from '../../functions/lib/log.ts';
import { createUploadDump, type UploadDumpDeps } from '../../functions/upload-dump/handler.ts';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';
import { createLeaseBook, grantInStore } from '../helpers/leases.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { seededData } from '../storage/dump-data.ts';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const leases = [
  { pool: 'dump' as const, leaseId: 'lease-dump-0001', fence: 3 },
  { pool: 'upload' as const, leaseId: 'lease-upload-0001', fence: 5 },
];
/** Pods of test/fixtures/pods/upload.yaml (and any a test adds) and their dump directories. */
const podDumpDirs: Record<string, string> = { billing: '/var/dumps' };

/** A clock that runs with real time and can jump ahead: a test ends a slice by spending its budget at once. */
export function steppedClock(): Clock & { advance(ms: number): void } {
  let skew = 0;
  return {
    now: () => systemClock.now() + skew,
    sleep: (ms) => systemClock.sleep(ms),
    advance: (ms) => {
      skew += ms;
    },
  };
}

export interface DumpOnDisk extends DumpFile {
  /** Where the test wrote it: the pod volume's host directory. */
  hostPath: string;
  sha256: string;
}

export type Reply = CloudEvent<unknown> | undefined;
export const dataOf = <T extends keyof typeof replyTypes>(reply: Reply, type: T) => {
  if (reply?.type !== replyTypes[type]) throw new Error(`expected ${replyTypes[type]}, got ${reply?.type}`);
  return reply.data as DataOf<(typeof replyTypes)[T]>;
};
const replyTypes = {
  progressed: EventTypes.uploadProgressed,
  uploaded: EventTypes.dumpUploaded,
  failed: EventTypes.dumpFailed,
} as const;

/** Redis and the Kubernetes API emulator with the upload pods, shared by a test file. */
export async function startUploadStack() {
  const redis: TestRedis = await startTestRedis();
  const emulator: TestKubeEmulator = await startTestKubeEmulator({
    podsFile: join(import.meta.dirname, '../fixtures/pods/upload.yaml'),
  });
  const execDumpEvents = createEventFactory('exec-dump');
  /** Leases granted by captured(), proven by uploadDump()'s default lease proof. */
  const leaseBook = createLeaseBook();
  /** The files captured() says exec-dump captured, by dump: written to a handler's store before it runs. */
  const capturedFiles = new Map<string, DumpFile[]>();
  let dumps = 0;

  const target = (pod: string): Target => ({
    namespace: 'shop',
    pod,
    uid: emulator.pod('shop', pod)!.metadata.uid,
    container: 'app',
    node: 'kube-emulator',
  });

  return {
    redis,
    emulator,
    target,
    /** Writes `bytes` of seeded heap-dump-like data into the pod's dump directory. */
    async writeDump(pod: string, fileName: string, bytes: number, seed = 7): Promise<DumpOnDisk> {
      const hostPath = join(emulator.volumePath('shop', pod, 'dumps')!, fileName);
      const hash = createHash('sha256');
      const hashing = new PassThrough({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(seededData(bytes, seed), hashing, createWriteStream(hostPath));
      return {
        path: `${podDumpDirs[pod] ?? '/dumps'}/${fileName}`,
        bytes,
        hostPath,
        sha256: hash.digest('hex'),
      };
    },
    /**
     * dump.captured as exec-dump sends it; a fresh dump id each time unless given. `uid` is the pod's the
     * dump was approved for (another than the pod's now: the pod was replaced since).
     */
    captured(
      pod: string,
      files: DumpFile[],
      dumpId = `dump-${process.pid}-${++dumps}`,
      held?: Lease[],
      uid = target(pod).uid,
    ): AnyCloudEvent {
      capturedFiles.set(
        dumpId,
        files.map(({ path, bytes }) => ({ path, bytes })),
      );
      return execDumpEvents(EventTypes.dumpCaptured, {
        dumpId,
        target: { ...target(pod), uid },
        leases: held ?? leaseBook.grant(dumpId, uid, 'app', leases),
        mode: 'live',
        trigger: { type: EventTypes.alertFiring, id: 'fp1:2026-11-23T10:00:00Z', reason: 'HeapHigh' },
        files: files.map(({ path, bytes }) => ({ path, bytes })),
        metadata: { jvm: { version: '17.0.15', flags: ['-Xmx64m'] }, node: 'kube-emulator' },
      }) as unknown as AnyCloudEvent;
    },
    /** dump.captured whose leases a real store granted, for upload-dump served with that store. */
    async capturedInStore(store: Pick<Store, 'pools' | 'records'>, pod: string, files: DumpFile[]) {
      const dumpId = `dump-${process.pid}-${++dumps}`;
      const event = this.captured(
        pod,
        files,
        dumpId,
        await grantInStore(store, dumpId, target(pod).uid, 'app'),
      );
      await store.records.updateDump(dumpId, { capturedFiles: capturedFiles.get(dumpId) });
      return event;
    },
    /** upload-dump as the runtime builds it, with the given sink and test knobs; its store is a fresh prefix. */
    uploadDump(options: { sink: StorageSink } & Partial<UploadDumpDeps>) {
      const store = redis.store();
      const handle = createUploadDump({
        store,
        leases: leaseBook,
        kube: createKubernetes(emulator.kubeConfig('upload-dump')),
        events: createEventFactory('upload-dump'),
        log: createLogger({ name: 'upload-dump', level: process.env.LOG_LEVEL ?? 'silent' }),
        layout: { prefix: 'heapdumps', gzipLevel: 1, segmentBytes: 16 * MiB },
        settings: { bytesPerSecond: null, sliceMs: 240_000, progressIntervalMs: 50 },
        podFiles: { defaultDumpDir: '/dumps', execTimeoutMs: 10_000 },
        ...options,
      });
      const handleAsExecDumpLeftIt = async (event: AnyCloudEvent): Promise<Reply> => {
        const { dumpId } = event.data as { dumpId: string };
        const files = capturedFiles.get(dumpId);
        if (files) await store.records.updateDump(dumpId, { capturedFiles: files });
        return handle({ headers: {} }, event);
      };
      return { store, handle: handleAsExecDumpLeftIt };
    },
    async stop() {
      await emulator.stop();
      await redis.stop();
    },
  };
}
export type UploadStack = Awaited<ReturnType<typeof startUploadStack>>;
