import type { Clock } from '../../adapters/pipeline/clock.ts';
import { uploadStream } from '../../adapters/pipeline/upload.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import type { DataOf, DumpFile, EventTypes } from '../lib/events/index.ts';
import type { PodFiles } from './pod-files.ts';
import type { createProgressWriter } from './progress.ts';
import { digestPublished } from './published-digests.ts';
import {
  compressedInPod,
  gzipLevelFor,
  objectNameOf,
  storedFileOf,
  type UploadState,
  type UploadStates,
} from './upload-state.ts';

/** The object is published but its digests are left to the next slice. */
class SliceEnded extends Error {}

export type CapturedDump = DataOf<typeof EventTypes.dumpCaptured>;

export interface UploadSettings {
  /** Stored bytes per second per upload; null for no cap. */
  bytesPerSecond: number | null;
  sliceMs: number;
  /** Gzip members compressed at once (default: the pipeline's, the CPU count). */
  parallelism?: number;
  progressIntervalMs?: number;
}

export interface SliceDeps {
  sink: StorageSink;
  pods: PodFiles;
  states: UploadStates;
  settings: UploadSettings;
  clock: Clock;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export interface SliceRun {
  dump: CapturedDump;
  state: UploadState;
  /** clock.now() when the request arrived: the slice's budget counts from there. */
  startedAt: number;
  progress: ReturnType<typeof createProgressWriter>;
}

export const bytesTotalOf = (dump: CapturedDump) => dump.files.reduce((sum, file) => sum + file.bytes, 0);

/** Raw bytes durably stored: whole files, plus the committed segments of the one under way. */
export const bytesDoneOf = (state: UploadState) =>
  state.stored.reduce((sum, file) => sum + file.rawBytes, 0) + (state.current?.rawOffset ?? 0);

/** What the .json beside a dump says besides the storage facts the pipeline adds (`stored`). */
function metadataOf(dump: CapturedDump, state: UploadState, file: DumpFile, index: number) {
  return {
    dumpId: dump.dumpId,
    target: dump.target,
    mode: dump.mode,
    trigger: dump.trigger,
    capturedAt: state.capturedAt,
    source: {
      path: file.path,
      bytes: file.bytes,
      compressedInPod: compressedInPod(file),
      file: index + 1,
      of: dump.files.length,
    },
    pod: dump.metadata,
  };
}

/**
 * Uploads the dump's files in order, from where `state` stands, until all are stored or the slice's
 * budget is spent (the pipeline stops at the next segment boundary). Saves the state after every
 * committed segment, so a killed instance loses at most one segment.
 */
export async function runSlice(
  deps: SliceDeps,
  run: SliceRun,
): Promise<{ done: boolean; state: UploadState }> {
  const { sink, pods, states, settings, clock, now } = deps;
  const { dump } = run;
  const deadline = run.startedAt + settings.sliceMs;
  const bytesTotal = bytesTotalOf(dump);
  let state = run.state;
  if (state.fileIndex >= dump.files.length) return { done: true, state };

  let dumpDir: string | undefined;
  while (state.fileIndex < dump.files.length) {
    const index = state.fileIndex;
    const file = dump.files[index]!;
    // Once the object is published the file is not read again (unless the digests need it), only verified
    // and described: a pod deleted meanwhile does not undo a stored dump.
    const published = state.current?.phase === 'stored';
    if (!published) {
      dumpDir ??= await pods.dumpDirOf(dump.target);
      await pods.check(dump.target, file, dumpDir);
    }
    const filesBefore = bytesDoneOf({ ...state, current: undefined });
    const outcome = await uploadStream({
      sink,
      name: objectNameOf(state, index, file),
      openSource: (offset) => pods.read(dump.target, file, offset),
      totalRawBytes: file.bytes,
      gzipLevel: gzipLevelFor(state, file),
      segmentBytes: state.segmentBytes,
      bytesPerSecond: settings.bytesPerSecond,
      parallelism: settings.parallelism,
      checkpoint: state.current,
      budgetMs: Math.max(0, deadline - clock.now()),
      clock,
      onCheckpoint: async (checkpoint) => {
        state = { ...state, current: checkpoint };
        await states.save(dump.dumpId, state);
      },
      onProgress: (progress) =>
        run.progress.report({
          bytesDone: filesBefore + progress.rawBytes,
          bytesTotal,
          rateBytesPerSec: Math.round(progress.rawBytesPerSecond),
        }),
      progressIntervalMs: settings.progressIntervalMs,
      digestStored: async (checkpoint) => {
        // Digesting reads the whole object again: a slice that published late leaves it to the next one.
        if (!published && deadline - clock.now() < settings.sliceMs / 2) throw new SliceEnded();
        return digestPublished(sink, checkpoint, () => pods.read(dump.target, file, 0), settings.parallelism);
      },
      metadata: metadataOf(dump, state, file, index),
    }).catch((error: unknown) => {
      if (error instanceof SliceEnded) return undefined;
      throw error;
    });
    if (!outcome?.done) return { done: false, state };
    state = {
      ...state,
      fileIndex: index + 1,
      current: undefined,
      stored: [...state.stored, storedFileOf(outcome.summary)],
      ...(index + 1 === dump.files.length ? { storedAt: now() } : {}),
    };
    await states.save(dump.dumpId, state);
    if (state.fileIndex < dump.files.length && clock.now() >= deadline) return { done: false, state };
  }
  return { done: true, state };
}
