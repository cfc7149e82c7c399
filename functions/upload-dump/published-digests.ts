import type { UploadCheckpoint } from '../../adapters/pipeline/checkpoint.ts';
import { type ObjectDigests, startsChain, UploadDigests } from '../../adapters/pipeline/digests.ts';
import { gzipMember } from '../../adapters/pipeline/gzip-member.ts';
import { mapOrdered } from '../../adapters/pipeline/ordered-map.ts';
import { gzipParallelism } from '../../adapters/pipeline/parallelism.ts';
import { type RawBlock, rawBlocks } from '../../adapters/pipeline/raw-blocks.ts';
import { digestStoredObject } from '../../adapters/pipeline/verify-stored.ts';
import { StorageError } from '../../adapters/storage/errors.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import { DumpSourceError } from './pod-files.ts';

/**
 * Whole-object digests of an upload that ran in several slices (no process saw every byte). Reading the
 * object back checks the stored bytes themselves, so that comes first; the production SFTP server is
 * upload-only, though (it refuses reads, so a stolen key cannot download dumps), and there the digests
 * come from the dump in the pod instead.
 */
export async function digestPublished(
  sink: StorageSink,
  checkpoint: UploadCheckpoint,
  readSource: () => AsyncIterable<Buffer>,
  parallelism?: number,
): Promise<ObjectDigests> {
  try {
    return await digestStoredObject(
      sink,
      checkpoint.name,
      checkpoint.segments,
      checkpoint.gzipLevel !== null,
    );
  } catch (error) {
    if (!(error instanceof StorageError && error.reason === 'permission-denied')) throw error;
    return digestsFromSource(readSource(), checkpoint, parallelism);
  }
}

/**
 * The raw file is read again and cut and compressed exactly as the pipeline did (zlib output is
 * deterministic for the same input and level), and every segment must hash to what was committed: that
 * proves the stored object is the dump, and that the dump did not change in between.
 */
export async function digestsFromSource(
  source: AsyncIterable<Buffer>,
  checkpoint: UploadCheckpoint,
  requested?: number,
): Promise<ObjectDigests> {
  const parallelism = gzipParallelism(checkpoint.blockBytes, requested);
  const level = checkpoint.gzipLevel;
  const digests = new UploadDigests(level !== null, 0);
  const blocks = rawBlocks(source, {
    blockBytes: checkpoint.blockBytes,
    segmentBytes: checkpoint.segmentBytes,
    firstSegment: 0,
    rawOffset: 0,
  });
  const stored: AsyncIterable<RawBlock & { stored?: Buffer }> =
    level === null
      ? blocks
      : mapOrdered(blocks, parallelism, async (block) => ({
          ...block,
          stored: await gzipMember(block.data, level),
        }));
  let segments = 0;
  let inSegment = 0;
  for await (const block of stored) {
    if (block.segment !== inSegment) {
      inSegment = block.segment;
      if (startsChain(checkpoint.segments, inSegment)) digests.restartChain(inSegment);
    }
    digests.raw(block.data);
    if (block.stored) digests.stored(block.stored);
    if (!block.endsSegment) continue;
    const expected = checkpoint.segments[block.segment];
    const actual = digests.endSegment();
    if (expected?.rawSha256 !== actual.rawSha256 || expected.storedSha256 !== actual.storedSha256) {
      throw new DumpSourceError(
        'source-changed',
        `segment ${block.segment} of the dump no longer hashes to what was stored; the file changed during the upload`,
        true,
      );
    }
    segments += 1;
  }
  if (segments !== checkpoint.segments.length) {
    throw new DumpSourceError(
      'source-changed',
      `the dump has ${segments} segments now, ${checkpoint.segments.length} were stored`,
      true,
    );
  }
  return digests.finish()!;
}
