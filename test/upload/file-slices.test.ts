/**
 * upload-dump end to end on the file backend: a 1 GiB dump read out of an emulated pod through exec,
 * in three time slices, as the Broker would deliver dump.captured and then each upload.progressed reply.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileSink } from '../../adapters/storage/file-sink.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import type { AnyCloudEvent } from '../../functions/lib/events/index.ts';
import { spyOn } from '../storage/sink-spy.ts';
import { onCommit } from './sink-hooks.ts';
import { dataOf, GiB, leases, MiB, startUploadStack, steppedClock, type UploadStack } from './stack.ts';
import { filesBelow, pathOfFileUri, storedDigests } from './stored.ts';

const SIZE = GiB;
const SEGMENT = 16 * MiB;
const SEGMENTS = SIZE / SEGMENT;

let stack: UploadStack;
let root: string;

beforeAll(async () => {
  stack = await startUploadStack();
  root = mkdtempSync(join(tmpdir(), 'upload-dump-file-'));
});
afterAll(async () => {
  await stack?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('upload-dump, file backend', () => {
  it('ends slices at 30 % and 70 %, resumes from Redis, stores identical bytes, deletes the pod file last', async () => {
    const dump = await stack.writeDump('orders', 'big.hprof', SIZE);
    const clock = steppedClock();
    const stops = [0.3, 0.7];
    const { sink, seen } = spyOn(createFileSink({ root }));
    // A slice's budget runs out right after the first segment that passes each stop.
    const sliced = onCommit(sink, (segment) => {
      if (stops.length && segment.rawOffset + segment.rawBytes >= stops[0]! * dump.bytes) {
        stops.shift();
        clock.advance(3_600_000);
      }
    });
    const { handle, store } = stack.uploadDump({ sink: sliced, clock });
    const captured = stack.captured('orders', [dump]);
    const dumpId = (captured.data as { dumpId: string }).dumpId;

    const first = await handle(captured);
    const slice1 = dataOf(first, 'progressed');
    // Each slice ends at the first segment boundary at or past its stop.
    const [at30, at70] = [Math.ceil(0.3 * SEGMENTS), Math.ceil(0.7 * SEGMENTS)];
    expect(slice1).toMatchObject({
      bytesDone: at30 * SEGMENT,
      bytesTotal: SIZE,
      checkpoint: { fileIndex: 0, segments: at30, offset: at30 * SEGMENT },
    });
    expect(slice1.leases).toEqual(leases);
    expect(await store.records.getDump(dumpId)).toMatchObject({
      state: 'uploading',
      bytesDone: slice1.bytesDone,
      bytesTotal: SIZE,
    });
    expect(filesBelow(root).filter((f) => f.endsWith('.partial'))).toHaveLength(1);
    expect(existsSync(dump.hostPath)).toBe(true);

    const slice2 = dataOf(await handle(first as AnyCloudEvent), 'progressed');
    expect(slice2.checkpoint.segments).toBe(at70);
    expect(existsSync(dump.hostPath)).toBe(true);
    // The first reply delivered again (a duplicate): the upload goes on from Redis, where slice 2 left it.
    const done = dataOf(await handle(first as AnyCloudEvent), 'uploaded');

    expect(seen.committed).toEqual(Array.from({ length: SEGMENTS }, (_, i) => i)); // no segment stored twice
    expect(existsSync(dump.hostPath)).toBe(false);
    expect(filesBelow(root).some((f) => f.endsWith('.partial') || f.endsWith('.tmp'))).toBe(false);
    const stored = pathOfFileUri(done.location.uri);
    expect(stored).toMatch(
      new RegExp(`^${root}/heapdumps/shop/orders/app/\\d{8}T\\d{6}Z_${dumpId}\\.hprof\\.gz$`),
    );
    expect(await storedDigests(stored)).toEqual({ sha256: done.sha256, rawSha256: dump.sha256 });
    expect(done).toMatchObject({ rawBytes: SIZE, rawSha256: dump.sha256, leases });
    expect(done.storedBytes).toBeLessThan(SIZE * 0.75);

    const metadata = JSON.parse(readFileSync(pathOfFileUri(done.metadataLocation!.uri), 'utf8'));
    expect(pathOfFileUri(done.metadataLocation!.uri)).toBe(stored.replace(/\.hprof\.gz$/, '.json'));
    expect(metadata).toMatchObject({
      dumpId,
      target: stack.target('orders'),
      trigger: { reason: 'HeapHigh' },
      pod: { jvm: { version: '17.0.15' } },
      source: { path: '/dumps/big.hprof', bytes: SIZE },
      stored: {
        rawBytes: SIZE,
        storedBytes: done.storedBytes,
        sha256: done.sha256,
        rawSha256: dump.sha256,
        compression: 'gzip',
      },
    });
    expect(metadata.stored.segments).toHaveLength(SEGMENTS);
    expect(metadata.stored.segments.at(-1)).toMatchObject({
      index: SEGMENTS - 1,
      rawOffset: SIZE - SEGMENT,
      rawBytes: SEGMENT,
    });
    expect(await store.records.getDump(dumpId)).toMatchObject({ bytesDone: SIZE, bytesTotal: SIZE });
  }, 300_000);

  it('stores a dump the JVM gzipped already as it is, under .hprof.gz', async () => {
    const raw = await stack.writeDump('orders', 'pre.hprof', 6 * MiB, 21);
    const gzipped = `${raw.hostPath}.gz`;
    execFileSync('gzip', ['-1', raw.hostPath]); // leaves pre.hprof.gz in the pod's dump directory
    const file = { path: '/dumps/pre.hprof.gz', bytes: statSync(gzipped).size };
    const gzSha256 = createHash('sha256').update(readFileSync(gzipped)).digest('hex');
    const { handle } = stack.uploadDump({ sink: createFileSink({ root }) });
    const done = dataOf(await handle(stack.captured('orders', [file])), 'uploaded');
    expect(done.location.uri).toMatch(/\.hprof\.gz$/);
    expect(done).toMatchObject({ rawBytes: file.bytes, storedBytes: file.bytes, sha256: gzSha256 });
    expect(await storedDigests(pathOfFileUri(done.location.uri))).toEqual({
      sha256: gzSha256,
      rawSha256: raw.sha256,
    });
    expect(existsSync(gzipped)).toBe(false);
  });

  it('a pod deleted after its dump was published does not undo the stored dump', async () => {
    await stack.emulator.addPods(`
metadata: { name: short-lived, namespace: shop }
spec:
  containers:
    - name: app
      command: [sleep, infinity]
      volumeMounts: [{ name: dumps, mountPath: /dumps }]
  volumes: [{ name: dumps, emptyDir: {} }]
`);
    const dump = await stack.writeDump('short-lived', 'last.hprof', 12 * MiB, 9);
    const clock = steppedClock();
    const file = createFileSink({ root });
    // Time runs out between publishing the object and digesting it, and again after the first segment.
    const sink: StorageSink = onCommit(
      {
        ...file,
        async openUpload(name, committed) {
          const upload = await file.openUpload(name, committed);
          return {
            ...upload,
            intactSegments: upload.intactSegments,
            complete: async (segments) => {
              await upload.complete(segments);
              clock.advance(3_600_000);
            },
          };
        },
      },
      (segment) => segment.index === 0 && clock.advance(3_600_000),
    );
    const { handle } = stack.uploadDump({
      sink,
      clock,
      layout: { prefix: 'heapdumps', gzipLevel: 1, segmentBytes: 4 * MiB },
    });
    const first = await handle(stack.captured('short-lived', [dump]));
    expect(dataOf(first, 'progressed').checkpoint.segments).toBe(1);
    const second = await handle(first as AnyCloudEvent);
    expect(dataOf(second, 'progressed').bytesDone).toBe(dump.bytes); // published, not yet digested
    await stack.emulator.deletePod('shop', 'short-lived');

    const done = dataOf(await handle(second as AnyCloudEvent), 'uploaded');
    expect(await storedDigests(pathOfFileUri(done.location.uri))).toEqual({
      sha256: done.sha256,
      rawSha256: dump.sha256,
    });
  });
});
