import { z } from 'zod';

export const segmentRecord = z.object({
  index: z.number().int().min(0),
  rawOffset: z.number().int().min(0),
  rawBytes: z.number().int().min(0),
  storedOffset: z.number().int().min(0),
  storedBytes: z.number().int().min(0),
  chainStart: z.number().int().min(0),
  rawSha256: z.string().regex(/^[0-9a-f]{64}$/),
  storedSha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/**
 * Everything needed to continue an upload in another process: the settings that shaped the stored
 * bytes (a resumed run must produce the same kind of bytes) and the committed segments. JSON-safe, so
 * the handler can keep it in Redis (`upload:<dumpId>`) and validate it with this schema on the way back.
 */
const currentCheckpoint = z.object({
  /** 2: segment digests are chains (SegmentRecord.chainStart); 1 had a digest per segment. */
  version: z.literal(2),
  name: z.string().min(1),
  /** `uploading`: segments are being committed; `stored`: the object is published, metadata may be missing. */
  phase: z.enum(['uploading', 'stored']),
  /** zlib level of the gzip members, or null when stored raw. */
  gzipLevel: z.number().int().min(1).max(9).nullable(),
  segmentBytes: z.number().int().positive(),
  blockBytes: z.number().int().positive(),
  segments: z.array(segmentRecord),
  /** Raw bytes committed so far: where the source must be reopened. */
  rawOffset: z.number().int().min(0),
  storedBytes: z.number().int().min(0),
  /** Whole-object digests, once known (phase `stored` and the last run saw every byte). */
  digests: z.object({ sha256: z.string(), rawSha256: z.string() }).optional(),
});

/**
 * A version 1 checkpoint (saved before an upgrade, its upload still running) kept a digest of each
 * segment's own bytes: that is a chain of one segment, so it reads as version 2 with `chainStart` = index.
 */
function upgradeVersion1(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || (value as { version?: unknown }).version !== 1) {
    return value;
  }
  const old = value as { segments?: unknown };
  const segments = Array.isArray(old.segments)
    ? old.segments.map((segment: { index?: unknown }) => ({ ...segment, chainStart: segment.index }))
    : old.segments;
  return { ...value, version: 2, segments };
}

export const uploadCheckpoint = z.preprocess(upgradeVersion1, currentCheckpoint);
export type UploadCheckpoint = z.infer<typeof currentCheckpoint>;
