import { createHash, type Hash } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { StorageError } from '../storage/errors.ts';
import type { SegmentRecord, StorageSink } from '../storage/types.ts';
import { type ObjectDigests, startsChain } from './digests.ts';
import { ZLIB_CHUNK_BYTES } from './gzip-member.ts';

/**
 * Reads a published object back and computes its whole-object digests, checking every segment's digest
 * chain (see UploadDigests) against what was recorded when it was uploaded. Used when an upload ran in more
 * than one process, where no single process saw every byte.
 */
export async function digestStoredObject(
  sink: StorageSink,
  name: string,
  segments: readonly SegmentRecord[],
  compressed: boolean,
): Promise<ObjectDigests> {
  const whole = createHash('sha256');
  const raw = createHash('sha256');
  let rawBytes = 0;
  let index = 0;
  // The chain of the current segment: `whole` itself while it runs from the object's start.
  let chain: Hash = whole;
  let segmentLeft = 0;

  const startSegment = () => {
    if (startsChain(segments, index)) chain = createHash('sha256');
    segmentLeft = segments[index]?.storedBytes ?? 0;
  };
  startSegment();
  const checkSegment = () => {
    const actual = chain.copy().digest('hex');
    if (actual !== segments[index]!.storedSha256) {
      throw new StorageError(
        'integrity',
        `segment ${index} of ${name} was stored corrupted (sha256 ${actual})`,
      );
    }
    index += 1;
    startSegment();
  };

  const rawSide = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.update(chunk);
      rawBytes += chunk.length;
      done();
    },
  });
  const tap = new PassThrough({
    transform(chunk: Buffer, _encoding, done) {
      try {
        for (let at = 0; at < chunk.length; ) {
          while (segmentLeft === 0 && index < segments.length) checkSegment();
          const take = Math.min(segmentLeft, chunk.length - at);
          if (take === 0) throw new StorageError('integrity', `${name} is longer than its segments`);
          const piece = chunk.subarray(at, at + take);
          whole.update(piece);
          if (chain !== whole) chain.update(piece);
          segmentLeft -= take;
          at += take;
        }
        done(null, chunk);
      } catch (error) {
        done(error as Error);
      }
    },
  });
  const gunzip = compressed ? [createGunzip({ chunkSize: ZLIB_CHUNK_BYTES })] : [];
  await pipeline(sink.read(name), tap, ...gunzip, rawSide);
  while (index < segments.length && segmentLeft === 0) checkSegment();
  const expectedRaw = segments.reduce((sum, segment) => sum + segment.rawBytes, 0);
  if (index < segments.length || rawBytes !== expectedRaw) {
    throw new StorageError('integrity', `${name} ends early: ${rawBytes} of ${expectedRaw} raw bytes`);
  }
  return { sha256: whole.digest('hex'), rawSha256: raw.digest('hex') };
}
