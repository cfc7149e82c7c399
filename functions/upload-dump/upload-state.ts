import { z } from 'zod';
import { uploadCheckpoint } from '../../adapters/pipeline/checkpoint.ts';
import type { UploadSummary } from '../../adapters/pipeline/upload.ts';
import type { Store } from '../../adapters/redis-store/index.ts';
import { checkObjectName } from '../../adapters/storage/object-name.ts';
import { PermanentError } from '../lib/errors.ts';
import type { DumpFile } from '../lib/events/index.ts';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** One dump file, stored, verified and described by its .json. */
const StoredFile = z.object({
  name: z.string(),
  location: z.string(),
  metadataName: z.string(),
  rawBytes: z.number().int().nonnegative(),
  storedBytes: z.number().int().nonnegative(),
  sha256,
  rawSha256: sha256,
});
export type StoredFile = z.infer<typeof StoredFile>;

/**
 * Where the upload of one dump stands, kept in Redis (`upload:<dumpId>`) after every committed segment. It
 * is the source of truth for resuming: the checkpoint in an upload.progressed event only reports it.
 */
export const UploadState = z.object({
  version: z.literal(1),
  /** `<prefix>/<namespace>/<pod>/<container>/<UTC timestamp>_<dumpId>`: object names add `.hprof[.gz]`. */
  baseName: z.string(),
  /** Settings that shape the stored bytes, fixed for the whole dump (a config change applies to new dumps). */
  gzipLevel: z.number().int().min(1).max(9).nullable(),
  segmentBytes: z.number().int().positive(),
  /** When the dump was captured (the dump.captured event's time), for the metadata. */
  capturedAt: z.string(),
  /** When the first slice started, ms since the epoch: `seconds` in dump.uploaded counts from here. */
  startedAt: z.number(),
  /** When the last file was stored: `seconds` in dump.uploaded ends here, however often it is answered. */
  storedAt: z.number().optional(),
  /** The file being uploaded; equal to the number of files once every one is stored. */
  fileIndex: z.number().int().nonnegative(),
  /** The pipeline's checkpoint for files[fileIndex], once a segment of it was committed. */
  current: uploadCheckpoint.optional(),
  stored: z.array(StoredFile),
});
export type UploadState = z.infer<typeof UploadState>;

/** Another instance saved a later checkpoint for this dump: this one is a stale duplicate and stops. */
export class SupersededError extends Error {
  constructor(dumpId: string) {
    super(`upload of ${dumpId} is further along in another instance; this delivery stops`);
    this.name = 'SupersededError';
  }
}

/** A file exec-dump had the JVM (or the pod's endpoint) gzip already is stored as it is. */
export const compressedInPod = (file: DumpFile) => file.path.endsWith('.gz');

/** zlib level for this file's members, or null to store its bytes as they are. */
export function gzipLevelFor(state: Pick<UploadState, 'gzipLevel'>, file: DumpFile): number | null {
  return compressedInPod(file) ? null : state.gzipLevel;
}

/** Object name of file `index` of a dump: the first gets the base name, the others `-2`, `-3`, ... */
export function objectNameOf(
  state: Pick<UploadState, 'baseName' | 'gzipLevel'>,
  index: number,
  file: DumpFile,
) {
  const gzip = compressedInPod(file) || state.gzipLevel !== null;
  return checkObjectName(`${state.baseName}${index === 0 ? '' : `-${index + 1}`}.hprof${gzip ? '.gz' : ''}`);
}

/**
 * Orders states so a stale instance can never move the saved one back: files done first, then
 * committed segments, then a published object.
 */
function rankOf(state: UploadState): number {
  const segments = state.current?.segments.length ?? 0;
  const published = state.current?.phase === 'stored' ? 1 : 0;
  return state.fileIndex * 1_000_000 + segments * 2 + published;
}

export function storedFileOf(summary: UploadSummary): StoredFile {
  return {
    name: summary.name,
    location: summary.location,
    metadataName: summary.metadataName,
    rawBytes: summary.rawBytes,
    storedBytes: summary.storedBytes,
    sha256: summary.sha256,
    rawSha256: summary.rawSha256,
  };
}

export function createUploadStates(records: Store['records']) {
  return {
    async load(dumpId: string): Promise<UploadState | undefined> {
      const saved = await records.loadCheckpoint<unknown>(dumpId);
      if (saved === null) return undefined;
      const parsed = UploadState.safeParse(saved);
      if (!parsed.success) {
        throw new PermanentError(
          `the saved upload state of ${dumpId} is unreadable: ${parsed.error.message}`,
        );
      }
      return parsed.data;
    },
    async save(dumpId: string, state: UploadState): Promise<void> {
      if (!(await records.saveCheckpoint(dumpId, rankOf(state), state))) throw new SupersededError(dumpId);
    },
  };
}
export type UploadStates = ReturnType<typeof createUploadStates>;
