/**
 * What upload-dump refuses, and how it says so: names and paths from an event never leave the storage
 * prefix or the pod's dump directory; a file that is missing, changed or not a plain file, a pod that
 * was replaced, a full volume → dump.failed (saying whether the file is still in the pod); an API server
 * that cannot be reached → 503. A stored dump redelivered is answered again without a second upload.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetes, kubeConfigFromYaml } from '../../adapters/kubernetes/index.ts';
import { createFileSink } from '../../adapters/storage/file-sink.ts';
import type { AnyCloudEvent } from '../../functions/lib/events/index.ts';
import { spyOn } from '../storage/sink-spy.ts';
import { dataOf, leases, MiB, startUploadStack, type UploadStack } from './stack.ts';
import { filesBelow, pathOfFileUri, storedDigests } from './stored.ts';

let stack: UploadStack;
let root: string;

function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A 2 MiB volume (when this host lets us mount a tmpfs). */
const fullRoot = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'upload-dump-full-'));
  if (mountTmpfs(dir, '2m')) return dir;
  rmSync(dir, { recursive: true });
  return undefined;
})();

beforeAll(async () => {
  stack = await startUploadStack();
  root = mkdtempSync(join(tmpdir(), 'upload-dump-refusals-'));
});
afterAll(async () => {
  await stack?.stop();
  if (fullRoot) {
    execFileSync('umount', [fullRoot]);
    rmSync(fullRoot, { recursive: true, force: true });
  }
  rmSync(root, { recursive: true, force: true });
});

/** Replaces a field of the event's data, as a sender that does not follow the schema would. */
function withData(event: AnyCloudEvent, patch: Record<string, unknown>): AnyCloudEvent {
  return { ...event, data: { ...(event.data as object), ...patch } } as AnyCloudEvent;
}

describe('upload-dump refuses', () => {
  it('paths outside the dump directory, symlinks, and subdirectories, keeping what is in the pod', async () => {
    const { handle } = stack.uploadDump({ sink: createFileSink({ root }) });
    const dumps = stack.emulator.volumePath('shop', 'orders', 'dumps')!;
    symlinkSync('/etc/passwd', join(dumps, 'link.hprof'));
    mkdirSync(join(dumps, 'sub'));
    writeFileSync(join(dumps, 'sub', 'x.hprof'), 'x');
    const cases = [
      { path: '/etc/passwd', bytes: 10, code: 'outside-dump-dir' },
      { path: '/dumps/sub/x.hprof', bytes: 1, code: 'outside-dump-dir' },
      { path: '/dumpsx/a.hprof', bytes: 1, code: 'outside-dump-dir' },
      { path: '/dumps/link.hprof', bytes: 10, code: 'not-a-file' },
    ];
    for (const { path, bytes, code } of cases) {
      const failed = dataOf(await handle(stack.captured('orders', [{ path, bytes }])), 'failed');
      expect(failed, path).toMatchObject({ stage: 'upload', error: { code }, fileKept: true, leases });
    }
    expect(existsSync('/etc/passwd')).toBe(true);
    expect(existsSync(join(dumps, 'link.hprof'))).toBe(true);
    expect(filesBelow(root)).toEqual([]);
  });

  it('events whose path or names could escape, before touching anything (422, never retried)', async () => {
    const { handle } = stack.uploadDump({ sink: createFileSink({ root }) });
    const event = stack.captured('orders', [{ path: '/dumps/a.hprof', bytes: 1 }]);
    const target = stack.target('orders');
    const bad = [
      { files: [{ path: '/dumps/../etc/passwd', bytes: 1 }] },
      { files: [{ path: 'dumps/a.hprof', bytes: 1 }] },
      { files: [{ path: '/dumps/a.hprof; rm -rf /', bytes: 1 }] },
      { target: { ...target, namespace: '../../etc' } },
      { target: { ...target, pod: 'orders/../../x' } },
      { target: { ...target, container: 'app/..' } },
      { dumpId: '../../../tmp/x' },
    ];
    for (const patch of bad) {
      await expect(handle(withData(event, patch)), JSON.stringify(patch)).rejects.toMatchObject({
        code: 422,
      });
    }
    expect(filesBelow(root)).toEqual([]);
  });

  it('reads where the pod says its dumps are (heapdump.dev/dump-dir), and stores below the prefix', async () => {
    const dump = await stack.writeDump('billing', 'annotated.hprof', 3 * MiB);
    const { handle } = stack.uploadDump({ sink: createFileSink({ root }) });
    const outside = dataOf(
      await handle(stack.captured('billing', [{ path: '/dumps/x.hprof', bytes: 1 }])),
      'failed',
    );
    expect(outside.error.code).toBe('outside-dump-dir');
    const done = dataOf(await handle(stack.captured('billing', [dump])), 'uploaded');
    expect(pathOfFileUri(done.location.uri).startsWith(`${root}/heapdumps/shop/billing/app/`)).toBe(true);
    expect(await storedDigests(pathOfFileUri(done.location.uri))).toEqual({
      sha256: done.sha256,
      rawSha256: dump.sha256,
    });
    expect(existsSync(dump.hostPath)).toBe(false);
  });

  it('a pod whose heapdump.dev/dump-dir is unsafe: dump.failed naming the annotation, nothing read', async () => {
    await stack.emulator.addPods(`
metadata: { name: misconfigured, namespace: shop, annotations: { heapdump.dev/dump-dir: /dumps/../etc } }
spec:
  containers:
    - name: app
      command: [sleep, infinity]
`);
    const { handle } = stack.uploadDump({ sink: createFileSink({ root }) });
    const failed = dataOf(
      await handle(stack.captured('misconfigured', [{ path: '/etc/passwd', bytes: 10 }])),
      'failed',
    );
    expect(failed).toMatchObject({ stage: 'upload', error: { code: 'bad-dump-dir' }, fileKept: true });
    expect(failed.error.message).toContain('heapdump.dev/dump-dir="/dumps/../etc" must not contain ".."');
    expect(filesBelow(root).filter((file) => file.includes('misconfigured'))).toEqual([]);
  });

  it('a missing file, a changed one, a replaced pod', async () => {
    const { handle } = stack.uploadDump({ sink: createFileSink({ root }) });
    const missing = dataOf(
      await handle(stack.captured('orders', [{ path: '/dumps/gone.hprof', bytes: 5 }])),
      'failed',
    );
    expect(missing).toMatchObject({ error: { code: 'source-missing' }, fileKept: false });

    const dump = await stack.writeDump('orders', 'changed.hprof', MiB);
    const changed = dataOf(
      await handle(stack.captured('orders', [{ ...dump, bytes: dump.bytes + 1 }])),
      'failed',
    );
    expect(changed).toMatchObject({ error: { code: 'source-changed' }, fileKept: true });
    expect(changed.error.message).toContain(`holds ${dump.bytes} bytes, but ${dump.bytes + 1} were captured`);

    const replaced = stack.captured('orders', [dump], undefined, undefined, 'another-pod-uid');
    expect(dataOf(await handle(replaced), 'failed')).toMatchObject({
      error: { code: 'pod-replaced' },
      fileKept: false,
    });
    expect(existsSync(dump.hostPath)).toBe(true);
  });

  it.skipIf(!fullRoot)('a full volume: dump.failed, the file stays in the pod', async () => {
    const dump = await stack.writeDump('orders', 'too-big.hprof', 8 * MiB, 11);
    const { handle } = stack.uploadDump({ sink: createFileSink({ root: fullRoot! }) });
    const failed = dataOf(await handle(stack.captured('orders', [dump])), 'failed');
    expect(failed).toMatchObject({
      error: { code: 'no-space' },
      fileKept: true,
      files: [{ path: dump.path }],
    });
    expect(failed.error.message).toMatch(/storage is full/);
    expect(existsSync(dump.hostPath)).toBe(true);
  });

  it('an API server it cannot reach: 503, so the Broker retries', async () => {
    const dump = await stack.writeDump('orders', 'later.hprof', MiB);
    const yaml = stack.emulator
      .kubeconfigFor('upload-dump')
      .replace(stack.emulator.url, 'https://127.0.0.1:9');
    const { handle } = stack.uploadDump({
      sink: createFileSink({ root }),
      kube: createKubernetes(kubeConfigFromYaml(yaml), { requestTimeoutMs: 2000 }),
    });
    await expect(handle(stack.captured('orders', [dump]))).rejects.toMatchObject({ code: 503 });
    expect(existsSync(dump.hostPath)).toBe(true);
  });

  it('nothing twice: a stored dump delivered again is answered the same, without a second upload', async () => {
    const dump = await stack.writeDump('orders', 'once.hprof', 5 * MiB);
    const { sink, seen } = spyOn(createFileSink({ root }));
    const { handle, store } = stack.uploadDump({ sink });
    const event = stack.captured('orders', [dump]);
    const first = await handle(event);
    const { dumpId } = dataOf(first, 'uploaded');
    await store.records.updateDump(dumpId, { state: 'uploaded' }); // release-token's word on it
    const again = await handle(event);
    expect((await store.records.getDump(dumpId))?.state).toBe('uploaded');
    expect(seen.opens).toBe(1);
    expect(again?.id).toBe(first?.id);
    expect(dataOf(again, 'uploaded')).toEqual(dataOf(first, 'uploaded'));
    expect(dataOf(first, 'uploaded').rawSha256).toBe(dump.sha256);
  });
});
