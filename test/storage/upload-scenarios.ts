import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { expect } from 'vitest';
import type { UploadCheckpoint } from '../../adapters/pipeline/checkpoint.ts';
import { type UploadOptions, type UploadSummary, uploadStream } from '../../adapters/pipeline/upload.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import { seededData, sha256Of } from './dump-data.ts';
import { spyOn } from './sink-spy.ts';

export const MiB = 1024 * 1024;

export interface Scenario {
  sink: StorageSink;
  name: string;
  sizeBytes: number;
  seed: number;
  /** Extra upload options (segment size, cap, ...). */
  options?: Partial<UploadOptions>;
}

const expectedDigests = new Map<string, Promise<string>>();
/** sha256 of the seeded source, computed once per (size, seed). */
export function sourceSha256(sizeBytes: number, seed: number): Promise<string> {
  const key = `${sizeBytes}/${seed}`;
  if (!expectedDigests.has(key)) expectedDigests.set(key, sha256Of(seededData(sizeBytes, seed)));
  return expectedDigests.get(key)!;
}

/** sha256 of what a stored object holds once gunzipped: checks the bytes, not what the pipeline claims. */
export async function rawSha256OfStored(stored: Readable, gzip: boolean): Promise<string> {
  const out = new PassThrough();
  const digest = sha256Of(out);
  await (gzip ? pipeline(stored, createGunzip(), out) : pipeline(stored, out));
  return digest;
}

function optionsOf(scenario: Scenario, sink: StorageSink): UploadOptions {
  return {
    sink,
    name: scenario.name,
    openSource: (offset) => seededData(scenario.sizeBytes, scenario.seed, offset),
    totalRawBytes: scenario.sizeBytes,
    bytesPerSecond: null,
    ...scenario.options,
  };
}

/** Uploads in one run and checks the stored object decompresses to the source, byte for byte. */
export async function uploadWhole(scenario: Scenario): Promise<UploadSummary> {
  const outcome = await uploadStream(optionsOf(scenario, scenario.sink));
  if (!outcome.done) throw new Error('upload stopped without a budget');
  const gzip = outcome.summary.gzipLevel !== null;
  const expected = await sourceSha256(scenario.sizeBytes, scenario.seed);
  expect(await rawSha256OfStored(scenario.sink.read(scenario.name), gzip)).toBe(expected);
  expect(outcome.summary.rawSha256).toBe(expected);
  expect(outcome.summary.digestsFromReadBack).toBe(false);
  return outcome.summary;
}

/**
 * Ends a run (as a time slice would) once each fraction of the dump is committed, then resumes from the
 * checkpoint, as the next `upload.progressed` event would. Checks no segment reached the sink twice.
 */
export async function uploadInSlices(scenario: Scenario, stops: number[]): Promise<UploadSummary> {
  const { sink, seen } = spyOn(scenario.sink);
  let checkpoint: UploadCheckpoint | undefined;
  const runs: boolean[] = [];
  for (const stop of [...stops, Number.POSITIVE_INFINITY]) {
    const slice = new AbortController();
    const outcome = await uploadStream({
      ...optionsOf(scenario, sink),
      checkpoint,
      signal: slice.signal,
      onCheckpoint: (next) => {
        if (next.rawOffset >= stop * scenario.sizeBytes) slice.abort();
      },
    });
    checkpoint = outcome.checkpoint;
    runs.push(outcome.done);
    if (outcome.done) {
      const segments = outcome.summary.segments.map((segment) => segment.index);
      expect(seen.committed).toEqual(segments); // each segment committed exactly once, in order
      expect(seen.bytesWritten).toBe(outcome.summary.storedBytes);
      expect(runs).toEqual([...stops.map(() => false), true]);
      expect(outcome.summary.digestsFromReadBack).toBe(true);
      const expected = await sourceSha256(scenario.sizeBytes, scenario.seed);
      expect(outcome.summary.rawSha256).toBe(expected);
      expect(await rawSha256OfStored(sink.read(scenario.name), outcome.summary.gzipLevel !== null)).toBe(
        expected,
      );
      return outcome.summary;
    }
  }
  throw new Error('upload never finished');
}

/**
 * The instance dies mid-segment (the source breaks after `failAt` bytes): the last checkpoint is all
 * that survives. Resuming from it discards the half segment and finishes with identical bytes.
 */
export async function crashAndResume(scenario: Scenario, failAt: number): Promise<UploadSummary> {
  let checkpoint: UploadCheckpoint | undefined;
  const broken = async function* () {
    let sent = 0;
    for await (const chunk of seededData(scenario.sizeBytes, scenario.seed)) {
      if (sent + chunk.length > failAt) throw new Error('instance killed');
      sent += chunk.length;
      yield chunk as Buffer;
    }
  };
  await expect(
    uploadStream({
      ...optionsOf(scenario, scenario.sink),
      openSource: () => broken(),
      onCheckpoint: (next) => {
        checkpoint = next;
      },
    }),
  ).rejects.toThrow('instance killed');
  expect(checkpoint?.rawOffset).toBeGreaterThan(0);
  const outcome = await uploadStream({ ...optionsOf(scenario, scenario.sink), checkpoint });
  if (!outcome.done) throw new Error('resumed upload stopped without a budget');
  const expected = await sourceSha256(scenario.sizeBytes, scenario.seed);
  expect(outcome.summary.rawSha256).toBe(expected);
  expect(await rawSha256OfStored(scenario.sink.read(scenario.name), outcome.summary.gzipLevel !== null)).toBe(
    expected,
  );
  return outcome.summary;
}
