import { PermanentError, TransientError } from '../../functions/lib/errors.ts';
import { StorageError } from '../storage/errors.ts';
import { storedEnd } from '../storage/intact-segments.ts';
import { checkObjectName, metadataNameOf } from '../storage/object-name.ts';
import type { SegmentRecord, StorageSink } from '../storage/types.ts';
import type { UploadCheckpoint } from './checkpoint.ts';
import { type Clock, systemClock } from './clock.ts';
import { type ObjectDigests, UploadDigests } from './digests.ts';
import { createGcNudge } from './gc-nudge.ts';
import { gzipMember } from './gzip-member.ts';
import { mapOrdered } from './ordered-map.ts';
import { gzipParallelism } from './parallelism.ts';
import { createTokenBucket, DEFAULT_BYTES_PER_SECOND, unlimited } from './rate-limiter.ts';
import { type RawBlock, rawBlocks } from './raw-blocks.ts';
import { digestStoredObject } from './verify-stored.ts';

const MiB = 1024 * 1024;
/** Stored bytes handed to the rate limiter and the sink at a time: fine-grained enough to pace smoothly. */
const WRITE_PIECE = 256 * 1024;

export interface UploadProgress {
  /** Raw bytes stored so far (the offset in the dump), and the dump's size when known. */
  rawBytes: number;
  totalRawBytes?: number;
  storedBytes: number;
  /** Rates over this run. */
  rawBytesPerSecond: number;
  storedBytesPerSecond: number;
}

export interface UploadOptions {
  sink: StorageSink;
  /** Object name below the sink's root, e.g. from dumpObjectName(). */
  name: string;
  /** Opens the raw dump at `rawOffset` (a Readable works: it is an AsyncIterable<Buffer>). */
  openSource(rawOffset: number): AsyncIterable<Buffer> | Promise<AsyncIterable<Buffer>>;
  /** The dump's size: enables progress totals, and a source that ends early fails instead of storing a stub. */
  totalRawBytes?: number;
  /** zlib level for the gzip members (default 1), or null to store raw bytes. Ignored when resuming. */
  gzipLevel?: number | null;
  /** Raw bytes per committed segment (default 64 MiB). Ignored when resuming. */
  segmentBytes?: number;
  /** Raw bytes per gzip member, the unit of parallel compression (default 4 MiB; 1 MiB uncompressed). */
  blockBytes?: number;
  /** Gzip members compressed at once on libuv's pool (default: CPU count, at least 2). */
  parallelism?: number;
  /** Cap on stored bytes per second (default 200 Mbit/s); null for none. */
  bytesPerSecond?: number | null;
  /** Continue the upload this checkpoint describes. */
  checkpoint?: UploadCheckpoint;
  /** Stop at the first segment boundary after this many ms (time slicing) or after `signal` aborts. */
  budgetMs?: number;
  signal?: AbortSignal;
  /** Called after every committed segment and once the object is published; store it to resume. */
  onCheckpoint?(checkpoint: UploadCheckpoint): void | Promise<void>;
  onProgress?(progress: UploadProgress): void;
  progressIntervalMs?: number;
  /**
   * Whole-object digests of an upload that ran in several processes (none saw every byte). Default: read the
   * object back from the sink; a sink that may not be read (an upload-only SFTP server) needs another way.
   */
  digestStored?(checkpoint: UploadCheckpoint): Promise<ObjectDigests>;
  /** Merged into the metadata JSON beside the dump (pod metadata, trigger, ...). */
  metadata?: Record<string, unknown>;
  clock?: Clock;
}

export interface UploadSummary extends ObjectDigests {
  name: string;
  location: string;
  metadataName: string;
  rawBytes: number;
  storedBytes: number;
  gzipLevel: number | null;
  segments: SegmentRecord[];
  /** True when the digests were computed by reading the object back (the upload spanned several runs). */
  digestsFromReadBack: boolean;
}

export type UploadOutcome =
  | { done: true; checkpoint: UploadCheckpoint; summary: UploadSummary }
  | { done: false; checkpoint: UploadCheckpoint };

interface StoredBlock extends RawBlock {
  stored: Buffer;
}

function startCheckpoint(options: UploadOptions): UploadCheckpoint {
  const gzipLevel = options.gzipLevel === undefined ? 1 : options.gzipLevel;
  return {
    version: 2,
    name: options.name,
    phase: 'uploading',
    gzipLevel,
    segmentBytes: options.segmentBytes ?? 64 * MiB,
    blockBytes: options.blockBytes ?? (gzipLevel === null ? MiB : 4 * MiB),
    segments: [],
    rawOffset: 0,
    storedBytes: 0,
  };
}

/**
 * Streams a dump into a sink: source → blocks → gzip members (in parallel, in order) → sha256 → token
 * bucket → sink, committing a segment at a time. Memory stays flat: at most `parallelism` + 1 blocks plus
 * the sink's in-flight window are held, and every stage waits for the next (backpressure).
 */
export async function uploadStream(options: UploadOptions): Promise<UploadOutcome> {
  checkObjectName(options.name);
  let checkpoint = options.checkpoint ?? startCheckpoint(options);
  if (checkpoint.name !== options.name) {
    throw new PermanentError(`checkpoint is for ${checkpoint.name}, not ${options.name}`);
  }
  if (checkpoint.phase === 'uploading') {
    const outcome = await storeSegments(options, checkpoint);
    if (!outcome.done) return outcome;
    checkpoint = outcome.checkpoint;
  }
  return { done: true, checkpoint, summary: await finish(options, checkpoint) };
}

async function storeSegments(
  options: UploadOptions,
  start: UploadCheckpoint,
): Promise<{ done: true; checkpoint: UploadCheckpoint } | { done: false; checkpoint: UploadCheckpoint }> {
  const clock = options.clock ?? systemClock;
  const startedAt = clock.now();
  const { sink, name, gzipLevel } = { ...options, gzipLevel: start.gzipLevel };
  const upload = await sink.openUpload(name, start.segments);
  const segments = start.segments.slice(0, upload.intactSegments);
  const digests = new UploadDigests(gzipLevel !== null, segments.length);
  const limiter =
    options.bytesPerSecond === null
      ? unlimited
      : createTokenBucket({ bytesPerSecond: options.bytesPerSecond ?? DEFAULT_BYTES_PER_SECOND, clock });
  const last = segments.at(-1);
  const firstRaw = last ? last.rawOffset + last.rawBytes : 0;
  let rawOffset = firstRaw;
  let storedOffset = storedEnd(segments, segments.length);
  const firstStored = storedOffset;
  let checkpoint: UploadCheckpoint = {
    ...start,
    segments: [...segments],
    rawOffset,
    storedBytes: storedOffset,
  };
  let lastProgress = startedAt;
  const progress = (force: boolean) => {
    const now = clock.now();
    if (!options.onProgress || (!force && now - lastProgress < (options.progressIntervalMs ?? 1000))) return;
    lastProgress = now;
    const seconds = Math.max(now - startedAt, 1) / 1000;
    options.onProgress({
      rawBytes: rawOffset,
      totalRawBytes: options.totalRawBytes,
      storedBytes: storedOffset,
      rawBytesPerSecond: (rawOffset - firstRaw) / seconds,
      storedBytesPerSecond: (storedOffset - firstStored) / seconds,
    });
  };
  const timeIsUp = () =>
    options.signal?.aborted === true ||
    (options.budgetMs !== undefined && clock.now() - startedAt >= options.budgetMs);

  try {
    const source = await options.openSource(rawOffset);
    const blocks = rawBlocks(source, {
      blockBytes: start.blockBytes,
      segmentBytes: start.segmentBytes,
      firstSegment: segments.length,
      rawOffset,
    });
    const parallelism = gzipParallelism(start.blockBytes, options.parallelism);
    const stored: AsyncIterable<StoredBlock> =
      gzipLevel === null
        ? (async function* () {
            for await (const block of blocks) yield { ...block, stored: block.data };
          })()
        : mapOrdered(blocks, parallelism, async (block) => ({
            ...block,
            stored: await gzipMember(block.data, gzipLevel),
          }));

    let segmentRaw = rawOffset;
    let segmentStored = storedOffset;
    const nudgeGc = createGcNudge();
    for await (const block of stored) {
      digests.raw(block.data);
      if (gzipLevel !== null) digests.stored(block.stored);
      for (let at = 0; at < block.stored.length; at += WRITE_PIECE) {
        const piece = block.stored.subarray(at, at + WRITE_PIECE);
        await limiter.take(piece.length);
        await upload.write(piece);
        storedOffset += piece.length;
        nudgeGc(piece.length);
      }
      rawOffset += block.data.length;
      progress(false);
      if (!block.endsSegment) continue;

      const record: SegmentRecord = {
        index: block.segment,
        rawOffset: segmentRaw,
        rawBytes: rawOffset - segmentRaw,
        storedOffset: segmentStored,
        storedBytes: storedOffset - segmentStored,
        ...digests.endSegment(),
      };
      await upload.commitSegment(record);
      segments.push(record);
      checkpoint = { ...checkpoint, segments: [...segments], rawOffset, storedBytes: storedOffset };
      await options.onCheckpoint?.(checkpoint);
      segmentRaw = rawOffset;
      segmentStored = storedOffset;
      if (timeIsUp()) {
        progress(true);
        return { done: false, checkpoint };
      }
    }

    if (options.totalRawBytes !== undefined && rawOffset !== options.totalRawBytes) {
      throw new TransientError(
        `the dump source ended at byte ${rawOffset} of ${options.totalRawBytes}; nothing was published`,
      );
    }
    await upload.complete(segments);
    checkpoint = { ...checkpoint, phase: 'stored', digests: digests.finish() };
    await options.onCheckpoint?.(checkpoint);
    progress(true);
    return { done: true, checkpoint };
  } finally {
    await upload.release();
  }
}

async function finish(options: UploadOptions, checkpoint: UploadCheckpoint): Promise<UploadSummary> {
  const { sink, name } = options;
  const info = await sink.stat(name);
  if (info?.size !== checkpoint.storedBytes) {
    throw new StorageError(
      'integrity',
      `${sink.locationOf(name)} holds ${info?.size ?? 'no'} bytes after publishing, expected ${checkpoint.storedBytes}`,
    );
  }
  const digests =
    checkpoint.digests ??
    (options.digestStored
      ? await options.digestStored(checkpoint)
      : await digestStoredObject(sink, name, checkpoint.segments, checkpoint.gzipLevel !== null));
  const summary: UploadSummary = {
    name,
    location: sink.locationOf(name),
    metadataName: metadataNameOf(name),
    rawBytes: checkpoint.rawOffset,
    storedBytes: checkpoint.storedBytes,
    gzipLevel: checkpoint.gzipLevel,
    ...digests,
    segments: checkpoint.segments,
    digestsFromReadBack: checkpoint.digests === undefined,
  };
  const { metadataName: _omit, digestsFromReadBack: _internal, ...stored } = summary;
  await sink.putJson(summary.metadataName, {
    ...options.metadata,
    stored: {
      ...stored,
      compression: checkpoint.gzipLevel === null ? 'none' : 'gzip',
      segmentBytes: checkpoint.segmentBytes,
    },
  });
  return summary;
}
