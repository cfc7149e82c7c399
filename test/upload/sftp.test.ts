/**
 * upload-dump against a real OpenSSH sshd (unprivileged user, internal-sftp): an outage mid-upload answers
 * 503 and the redelivery resumes at the last committed segment; an upload-only server (reads refused, as
 * infra/ runs it) still gets verified digests; a wrong host key or a directory it may not write answer
 * dump.failed with the file kept in the pod.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSftpSink, type SftpSinkConfig } from '../../adapters/storage/sftp-sink.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import type { UploadState } from '../../functions/upload-dump/upload-state.ts';
import { disposeSshd, type Sshd, sftpSinkConfig, startSshd } from '../helpers/sshd.ts';
import { spyOn } from '../storage/sink-spy.ts';
import { onCommit } from './sink-hooks.ts';
import { dataOf, MiB, startUploadStack, type UploadStack } from './stack.ts';
import { filesBelow, storedDigestsIn } from './stored.ts';

const USER = 'heapdump-upload';
let stack: UploadStack;
let sshd: Sshd;
let uploadOnly: Sshd;
const sinks: StorageSink[] = [];

function sftpSink(server: Sshd, overrides: Partial<SftpSinkConfig> = {}): StorageSink {
  const sink = createSftpSink({
    ...sftpSinkConfig(server),
    readyTimeoutMs: 5000,
    ...overrides,
  });
  sinks.push(sink);
  return sink;
}

beforeAll(async () => {
  stack = await startUploadStack();
  sshd = await startSshd({ user: USER });
  uploadOnly = await startSshd({ user: USER, sftpServer: 'internal-sftp -P read,readlink,symlink,hardlink' });
});
afterAll(async () => {
  for (const sink of sinks) await sink.close().catch(() => {});
  if (sshd) await disposeSshd(sshd);
  if (uploadOnly) await disposeSshd(uploadOnly);
  await stack?.stop();
});

const layout = { prefix: 'heapdumps', gzipLevel: 1, segmentBytes: 4 * MiB };

describe('upload-dump over SFTP', () => {
  it('SFTP down mid-upload: 503, then the redelivery resumes at the last committed segment', async () => {
    const dump = await stack.writeDump('orders', 'outage.hprof', 40 * MiB, 3);
    const { sink, seen } = spyOn(sftpSink(sshd));
    let outage: Promise<void> | undefined;
    const failing = onCommit(sink, (segment) => {
      if (segment.index === 3) outage ??= sshd.stop();
    });
    const { handle, store } = stack.uploadDump({ sink: failing, layout });
    const event = stack.captured('orders', [dump]);

    await expect(handle(event)).rejects.toMatchObject({ code: 503 });
    await outage;
    const saved = await store.records.loadCheckpoint<UploadState>((event.data as { dumpId: string }).dumpId);
    expect(saved?.current?.segments.length).toBeGreaterThanOrEqual(4);
    expect(existsSync(dump.hostPath)).toBe(true);

    await sshd.start();
    const done = dataOf(await handle(event), 'uploaded');
    expect(seen.committed).toEqual(Array.from({ length: 10 }, (_, i) => i)); // each segment once
    const name = done.location.uri.slice(done.location.uri.indexOf(sshd.root) + sshd.root.length + 1);
    expect(await storedDigestsIn(sink, name)).toEqual({ sha256: done.sha256, rawSha256: dump.sha256 });
    expect(filesBelow(sshd.root).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(existsSync(dump.hostPath)).toBe(false);
  });

  it('an upload-only server (reads refused): a resumed upload is verified against the pod instead', async () => {
    const dump = await stack.writeDump('orders', 'upload-only.hprof', 24 * MiB, 5);
    const sink = sftpSink(uploadOnly);
    let sliceEnded = false;
    const { handle } = stack.uploadDump({
      sink: onCommit(sink, () => {
        sliceEnded = true;
      }),
      layout,
      // A zero budget: every slice ends at its first segment.
      settings: { bytesPerSecond: null, sliceMs: 0.001 },
    });
    let reply = await handle(stack.captured('orders', [dump]));
    let slices = 1;
    while (reply?.type === 'dev.heapdump.upload.progressed') {
      reply = await handle(reply as never);
      slices += 1;
    }
    expect(sliceEnded).toBe(true);
    expect(slices).toBeGreaterThanOrEqual(6);
    const done = dataOf(reply, 'uploaded');
    expect(done.rawSha256).toBe(dump.sha256);
    const stored = join(uploadOnly.root, done.location.uri.split(uploadOnly.root)[1]!);
    expect(readFileSync(stored).length).toBe(done.storedBytes);
    await expect(storedDigestsIn(sink, done.location.uri.split(`${uploadOnly.root}/`)[1]!)).rejects.toThrow(
      /permission denied/i,
    );
  });

  it('a wrong host key: dump.failed naming both keys, the file stays in the pod', async () => {
    const dump = await stack.writeDump('orders', 'pinned.hprof', MiB);
    const wrongPin = `SHA256:${'A'.repeat(43)}`;
    const { handle } = stack.uploadDump({ sink: sftpSink(sshd, { hostKey: wrongPin }), layout });
    const failed = dataOf(await handle(stack.captured('orders', [dump])), 'failed');
    expect(failed).toMatchObject({ stage: 'upload', error: { code: 'host-key-mismatch' }, fileKept: true });
    expect(failed.error.message).toContain(sshd.hostKeyFingerprint);
    expect(failed.error.message).toContain(wrongPin);
    expect(existsSync(dump.hostPath)).toBe(true);
  });

  it('a directory it may not write: dump.failed permission-denied, the file stays in the pod', async () => {
    const locked = join(sshd.root, 'locked');
    mkdirSync(locked, { mode: 0o755 }); // root's, not the SFTP user's
    const dump = await stack.writeDump('orders', 'denied.hprof', MiB);
    const { handle } = stack.uploadDump({ sink: sftpSink(sshd, { root: locked }), layout });
    const failed = dataOf(await handle(stack.captured('orders', [dump])), 'failed');
    expect(failed).toMatchObject({ error: { code: 'permission-denied' }, fileKept: true });
    expect(existsSync(dump.hostPath)).toBe(true);
  });
});
