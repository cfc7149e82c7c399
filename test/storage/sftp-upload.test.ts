import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadCheckpoint } from '../../adapters/pipeline/checkpoint.ts';
import { uploadStream } from '../../adapters/pipeline/upload.ts';
import { createSftpSink, type SftpSinkConfig } from '../../adapters/storage/sftp-sink.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import { disposeSshd, type Sshd, sftpSinkConfig, startSshd } from '../helpers/sshd.ts';
import { expectEscapingNamesRefused } from './confinement.ts';
import { seededData } from './dump-data.ts';
import {
  crashAndResume,
  MiB,
  rawSha256OfStored,
  sourceSha256,
  uploadInSlices,
  uploadWhole,
} from './upload-scenarios.ts';

const USER = 'heapdump-sftp'; // not root: root would ignore the permissions these tests rely on
let sshd: Sshd;
let sink: StorageSink;
let outside: string;
let fullDir: string | undefined;
const sinks: StorageSink[] = [];

function sinkWith(overrides: Partial<SftpSinkConfig> = {}): StorageSink {
  const created = createSftpSink({
    ...sftpSinkConfig(sshd),
    ...overrides,
  });
  sinks.push(created);
  return created;
}

function mountTmpfs(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const tmpfsMountable = (() => {
  const probe = mkdtempSync(join(tmpdir(), 'heapdump-tmpfs-probe-'));
  const mounted = mountTmpfs(probe, 'size=1m');
  if (mounted) execFileSync('umount', [probe]);
  rmSync(probe, { recursive: true });
  return mounted;
})();

beforeAll(async () => {
  sshd = await startSshd({ user: USER });
  sink = sinkWith();
  outside = mkdtempSync(join(tmpdir(), 'heapdump-outside-'));
  chmodSync(outside, 0o777);
  if (tmpfsMountable) {
    fullDir = join(sshd.root, 'full');
    mkdirSync(fullDir);
    mountTmpfs(fullDir, `size=4m,uid=${execFileSync('id', ['-u', USER]).toString().trim()}`);
  }
});
afterAll(async () => {
  for (const each of sinks) await each.close();
  if (fullDir) execFileSync('umount', [fullDir]);
  await disposeSshd(sshd);
  rmSync(outside, { recursive: true, force: true });
});

describe('sftp sink against OpenSSH sshd', () => {
  it('stores 1 GiB that decompresses to the source, never leaving a .partial', async () => {
    const name = 'ns/pod/app/20250101T000000Z_whole.hprof.gz';
    const summary = await uploadWhole({ sink, name, sizeBytes: 1024 * MiB, seed: 11 });
    expect(summary.location).toBe(`sftp://127.0.0.1:${sshd.port}${sshd.root}/${name}`);
    expect(readdirSync(join(sshd.root, 'ns/pod/app')).sort()).toEqual([
      '20250101T000000Z_whole.hprof.gz',
      '20250101T000000Z_whole.json',
    ]);
    const metadata = JSON.parse(
      readFileSync(join(sshd.root, 'ns/pod/app/20250101T000000Z_whole.json'), 'utf8'),
    );
    expect(metadata.stored.sha256).toBe(summary.sha256);
  }, 300_000);

  it('ends runs at 30 % and 70 % and resumes, storing every segment once', async () => {
    const name = 'sliced/20250101T000000Z_sliced.hprof.gz';
    await uploadInSlices(
      { sink, name, sizeBytes: 256 * MiB, seed: 12, options: { segmentBytes: 16 * MiB } },
      [0.3, 0.7],
    );
    expect(readdirSync(join(sshd.root, 'sliced')).sort()).toEqual([
      '20250101T000000Z_sliced.hprof.gz',
      '20250101T000000Z_sliced.json',
    ]);
  }, 300_000);

  it('resumes after an instance dies mid-segment', async () => {
    const name = 'crash/20250101T000000Z_crash.hprof.gz';
    await crashAndResume(
      { sink, name, sizeBytes: 48 * MiB, seed: 13, options: { segmentBytes: 8 * MiB } },
      30 * MiB,
    );
    expect(existsSync(join(sshd.root, `${name}.partial`))).toBe(false);
  }, 120_000);

  it('fails with 503 while the server is down, and resumes when it is back', async () => {
    const name = 'outage/20250101T000000Z_outage.hprof';
    const scenario = { sizeBytes: 96 * MiB, seed: 14 };
    const outageSink = sinkWith();
    let checkpoint: UploadCheckpoint | undefined;
    const options = {
      sink: outageSink,
      name,
      openSource: (offset: number) => seededData(scenario.sizeBytes, scenario.seed, offset),
      totalRawBytes: scenario.sizeBytes,
      gzipLevel: null,
      segmentBytes: 8 * MiB,
      bytesPerSecond: 64 * MiB, // slow enough that the outage lands mid-upload
    };
    try {
      await expect(
        uploadStream({
          ...options,
          onCheckpoint: async (next) => {
            checkpoint = next;
            if (next.segments.length === 2) await sshd.stop();
          },
        }),
      ).rejects.toMatchObject({ code: 503 });
      await expect(outageSink.openUpload(name, checkpoint!.segments)).rejects.toMatchObject({ code: 503 });
    } finally {
      await sshd.start(); // the tests after this one need the server, whatever happened here
    }
    const outcome = await uploadStream({ ...options, checkpoint });
    if (!outcome.done) throw new Error('resumed upload stopped without a budget');
    // it continued after the committed segments instead of starting over
    expect(outcome.summary.digestsFromReadBack).toBe(true);
    expect(existsSync(join(sshd.root, `${name}.partial`))).toBe(false);
    const expected = await sourceSha256(scenario.sizeBytes, scenario.seed);
    expect(await rawSha256OfStored(outageSink.read(name), false)).toBe(expected);
  }, 60_000);

  it('refuses a server whose host key is not the pinned one', async () => {
    const wrongPin = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const error = await sinkWith({ hostKey: wrongPin })
      .openUpload('x/y.hprof', [])
      .catch((caught) => caught);
    expect(error).toMatchObject({ code: 422, reason: 'host-key-mismatch' });
    expect(error.message).toContain(sshd.hostKeyFingerprint);
    expect(error.message).toContain(wrongPin);
    // the right fingerprint alone is a valid pin
    await expect(
      sinkWith({ hostKey: sshd.hostKeyFingerprint }).stat('nothing-here'),
    ).resolves.toBeUndefined();
    expect(() => sinkWith({ hostKey: '# nothing pinned' })).toThrow(/no pinned SFTP host key/);
  });

  it('reports permission denied as a permanent storage failure', async () => {
    mkdirSync(join(sshd.root, 'readonly'), { mode: 0o555 });
    chmodSync(join(sshd.root, 'readonly'), 0o555);
    const error = await uploadStream({
      sink,
      name: 'readonly/20250101T000000Z_denied.hprof',
      openSource: () => seededData(MiB, 15),
      bytesPerSecond: null,
    }).catch((caught) => caught);
    expect(error).toMatchObject({ code: 422, kind: 'storage', reason: 'permission-denied' });
  });

  // A full disk needs a small file system to fill: a tmpfs, where this machine lets us mount one.
  it.skipIf(!tmpfsMountable)('reports a full disk as a permanent storage failure', async () => {
    const error = await uploadStream({
      sink,
      name: 'full/20250101T000000Z_full.hprof',
      openSource: () => seededData(16 * MiB, 16),
      gzipLevel: null,
      bytesPerSecond: null,
    }).catch((caught) => caught);
    expect(error).toMatchObject({ code: 422, kind: 'storage' });
    expect(error.message).toMatch(/full or over quota/);
  });

  it('never writes outside its root, not even through a symlink', async () => {
    await expectEscapingNamesRefused(sink);
    await expect(sink.openUpload('.ssh/authorized_keys', [])).rejects.toMatchObject({ code: 422 });
    symlinkSync(outside, join(sshd.root, 'link'));
    await expect(sink.openUpload('link/x.hprof', [])).rejects.toMatchObject({
      code: 422,
      reason: 'rejected',
    });
    mkdirSync(join(sshd.root, 'd'));
    execFileSync('chown', [USER, join(sshd.root, 'd')]);
    symlinkSync(join(outside, 'target'), join(sshd.root, 'd', 'x.hprof.partial'));
    await expect(sink.openUpload('d/x.hprof', [])).rejects.toMatchObject({ code: 422, reason: 'rejected' });
    expect(readdirSync(outside)).toEqual([]);
  });
});
