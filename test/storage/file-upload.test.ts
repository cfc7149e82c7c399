import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadStream } from '../../adapters/pipeline/upload.ts';
import { createFileSink } from '../../adapters/storage/file-sink.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import { expectEscapingNamesRefused } from './confinement.ts';
import { seededData } from './dump-data.ts';
import { crashAndResume, MiB, uploadInSlices, uploadWhole } from './upload-scenarios.ts';

let root: string;
let outside: string;
let sink: StorageSink;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'heapdump-file-sink-'));
  outside = mkdtempSync(join(tmpdir(), 'heapdump-outside-'));
  sink = createFileSink({ root });
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('file sink', () => {
  it('stores 1 GiB as multi-member gzip that decompresses to the source, with metadata beside it', async () => {
    const name = 'dumps/ns/pod/app/20250101T000000Z_whole.hprof.gz';
    const summary = await uploadWhole({
      sink,
      name,
      sizeBytes: 1024 * MiB,
      seed: 1,
      options: { metadata: { pod: 'p' } },
    });

    expect(summary.segments).toHaveLength(16);
    expect(summary.storedBytes).toBeLessThan(summary.rawBytes);
    const metadata = JSON.parse(
      readFileSync(join(root, 'dumps/ns/pod/app/20250101T000000Z_whole.json'), 'utf8'),
    );
    expect(metadata.pod).toBe('p');
    expect(metadata.stored).toMatchObject({
      sha256: summary.sha256,
      rawSha256: summary.rawSha256,
      rawBytes: 1024 * MiB,
      storedBytes: summary.storedBytes,
      compression: 'gzip',
    });
    expect(metadata.stored.segments).toHaveLength(16);
    expect(filesUnder(join(root, 'dumps/ns/pod/app'))).toEqual([
      '20250101T000000Z_whole.hprof.gz',
      '20250101T000000Z_whole.json',
    ]);
  }, 300_000);

  it('ends runs at 30 % and 70 %, resumes, and stores every segment once with nothing left behind', async () => {
    const name = 'sliced/20250101T000000Z_sliced.hprof.gz';
    const summary = await uploadInSlices(
      { sink, name, sizeBytes: 256 * MiB, seed: 2, options: { segmentBytes: 16 * MiB } },
      [0.3, 0.7],
    );
    expect(summary.segments).toHaveLength(16);
    // Each run after the first starts a digest chain at its first segment (see UploadDigests).
    const chainStarts = [...new Set(summary.segments.map((segment) => segment.chainStart))];
    expect(chainStarts).toHaveLength(3);
    expect(chainStarts[0]).toBe(0);
    expect(filesUnder(join(root, 'sliced'))).toEqual([
      '20250101T000000Z_sliced.hprof.gz',
      '20250101T000000Z_sliced.json',
    ]);
  }, 300_000);

  it('resumes after an instance dies mid-segment, discarding the half-written segment', async () => {
    const name = 'crash/20250101T000000Z_crash.hprof';
    const summary = await crashAndResume(
      { sink, name, sizeBytes: 40 * MiB, seed: 3, options: { gzipLevel: null, segmentBytes: 8 * MiB } },
      21 * MiB,
    );
    expect(summary.storedBytes).toBe(40 * MiB);
    expect(existsSync(join(root, `${name}.partial`))).toBe(false);
  });

  it('publishes nothing when the source ends before the announced size', async () => {
    const name = 'short/20250101T000000Z_short.hprof.gz';
    await expect(
      uploadStream({
        sink,
        name,
        openSource: () => seededData(3 * MiB, 4),
        totalRawBytes: 4 * MiB,
        bytesPerSecond: null,
      }),
    ).rejects.toMatchObject({ code: 503 });
    expect(existsSync(join(root, name))).toBe(false);
  });

  it('never writes outside its root', async () => {
    await expectEscapingNamesRefused(sink);
    symlinkSync(outside, join(root, 'link'));
    await expect(sink.openUpload('link/x.hprof', [])).rejects.toMatchObject({
      code: 422,
      reason: 'rejected',
    });
    await expect(sink.putJson('link/x.json', {})).rejects.toMatchObject({ code: 422 });
    mkdirSync(join(root, 'd'));
    symlinkSync(join(outside, 'target'), join(root, 'd', 'x.hprof.partial'));
    await expect(sink.openUpload('d/x.hprof', [])).rejects.toMatchObject({ code: 422 });
    expect(readdirSync(outside)).toEqual([]);
  });
});
