import type { Kubernetes } from '../../adapters/kubernetes/index.ts';
import { type Clock, systemClock } from '../../adapters/pipeline/clock.ts';
import type { Store } from '../../adapters/redis-store/index.ts';
import { StorageError } from '../../adapters/storage/errors.ts';
import { dumpObjectName } from '../../adapters/storage/object-name.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import { PermanentError } from '../lib/errors.ts';
import {
  type AnyCloudEvent,
  type BuildOptions,
  DumpCaptured,
  type EventFactory,
  EventTypes,
  incomingTraceparent,
  parseEvent,
} from '../lib/events/index.ts';
import type { Handler } from '../lib/handler.ts';
import { createLogger, type Logger, logFor } from '../lib/log.ts';
import { meta } from './meta.ts';
import { createPodFiles, DumpSourceError, type PodFilesOptions } from './pod-files.ts';
import { createProgressWriter } from './progress.ts';
import { bytesDoneOf, bytesTotalOf, type CapturedDump, runSlice, type UploadSettings } from './slice.ts';
import { createUploadStates, SupersededError, type UploadState } from './upload-state.ts';

export interface DumpLayout {
  /** First part of every object name (may be empty). */
  prefix: string;
  /** zlib level of the gzip members, or null to store dumps raw. */
  gzipLevel: number | null;
  /** Raw bytes per committed segment. */
  segmentBytes: number;
}

export interface UploadDumpDeps {
  store: Store;
  /** The store's word on the event's leases: nothing is read, uploaded or deleted on an event's word alone. */
  leases: Pick<Store['pools'], 'prove'>;
  kube: Kubernetes;
  sink: StorageSink;
  events: EventFactory;
  layout: DumpLayout;
  settings: UploadSettings;
  podFiles: PodFilesOptions;
  log?: Logger;
  /** Monotonic time for slice budgets and the rate cap; tests hand in one they can move. */
  clock?: Clock;
  /** Milliseconds since the epoch, for names and `seconds`. */
  now?: () => number;
}

/**
 * Streams a captured dump out of its pod into storage, one time slice per request: dump.captured starts,
 * upload.progressed continues, and the last slice verifies, describes, deletes the file in the pod and
 * answers dump.uploaded. Storage or pod refusals answer dump.failed (the file stays in the pod);
 * outages throw TransientError (503), and the Broker's retry resumes from the saved state.
 */
export function createUploadDump(deps: UploadDumpDeps): Handler {
  const { store, sink, events } = deps;
  const clock = deps.clock ?? systemClock;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? createLogger({ name: meta.name });
  const states = createUploadStates(store.records);
  const pods = createPodFiles(deps.kube, deps.podFiles);

  function firstState(dump: CapturedDump, event: AnyCloudEvent, eventLog: Logger): UploadState {
    const eventTime = Date.parse(event.time ?? '');
    const capturedAt = new Date(
      event.type === EventTypes.dumpCaptured && Number.isFinite(eventTime) ? eventTime : now(),
    );
    if (event.type !== EventTypes.dumpCaptured)
      eventLog.warn('no saved upload state for this dump: starting over');
    const { prefix, gzipLevel, segmentBytes } = deps.layout;
    // DESIGN section 6; the extension depends on each file (see objectNameOf).
    const baseName = dumpObjectName({
      prefix,
      ...dump.target,
      capturedAt,
      dumpId: dump.dumpId,
      gzip: false,
    }).replace(/\.hprof$/, '');
    return {
      version: 1,
      baseName,
      gzipLevel,
      segmentBytes,
      capturedAt: capturedAt.toISOString(),
      startedAt: now(),
      fileIndex: 0,
      stored: [],
    };
  }

  async function removeFromPod(dump: CapturedDump, eventLog: Logger): Promise<void> {
    for (const file of dump.files) {
      const { removed, detail } = await pods.remove(dump.target, file);
      if (!removed) eventLog.warn({ path: file.path, detail }, 'stored, but the file stays in the pod');
    }
  }

  function uploaded(dump: CapturedDump, state: UploadState, reply: BuildOptions) {
    // A dump is one file but for collect mode after several OOMs: the first is the dump, the others lie beside it.
    const first = state.stored[0]!;
    return events(
      EventTypes.dumpUploaded,
      {
        dumpId: dump.dumpId,
        target: dump.target,
        location: { backend: sink.kind, uri: first.location },
        metadataLocation: { backend: sink.kind, uri: sink.locationOf(first.metadataName) },
        rawBytes: first.rawBytes,
        storedBytes: first.storedBytes,
        sha256: first.sha256,
        rawSha256: first.rawSha256,
        seconds: Math.max(0, ((state.storedAt ?? now()) - state.startedAt) / 1000),
        leases: dump.leases,
      },
      reply,
    );
  }

  function failed(dump: CapturedDump, error: PermanentError, reply: BuildOptions) {
    const code =
      error instanceof DumpSourceError || error instanceof StorageError ? error.reason : 'upload-rejected';
    return events(
      EventTypes.dumpFailed,
      {
        dumpId: dump.dumpId,
        target: dump.target,
        stage: 'upload',
        error: { code, message: error.message.slice(0, 4096) },
        leases: dump.leases,
        fileKept: error instanceof DumpSourceError ? error.fileKept : true,
        files: dump.files,
      },
      reply,
    );
  }

  return async (ctx, event) => {
    const startedAt = clock.now();
    const parsed = parseEvent(event, meta.accepts);
    // upload.progressed repeats dump.captured plus what it reports; the saved state, not the report, resumes.
    const dump: CapturedDump = DumpCaptured.parse(parsed.data);
    const reply: BuildOptions = {
      cause: event,
      traceparent: incomingTraceparent(ctx.headers, event as { traceparent?: unknown }),
    };
    const eventLog = logFor(log, event);
    const { uid, container } = dump.target;
    const proof = await deps.leases.prove({ ...dump, uid, container, live: true, renew: true });
    if (!proof.ok) {
      eventLog.warn({ source: event.source, reason: proof.reason }, 'no live lease: nothing read or deleted');
      const refusal = new DumpSourceError(
        'no-live-lease',
        `dump ${dump.dumpId} holds no live lease: ${proof.reason}`,
        true,
      );
      return failed(dump, refusal, reply);
    }
    const captured = (await store.records.getDump(dump.dumpId))?.capturedFiles ?? [];
    const foreign = dump.files.find(
      (file) => !captured.some((known) => known.path === file.path && known.bytes === file.bytes),
    );
    if (foreign) {
      eventLog.warn(
        { source: event.source, path: foreign.path },
        'a file exec-dump did not capture: nothing read',
      );
      const refusal = new DumpSourceError(
        'file-not-captured',
        `${foreign.path} (${foreign.bytes} bytes) is not a file exec-dump captured for dump ${dump.dumpId}`,
        true,
      );
      return failed(dump, refusal, reply);
    }
    const progress = createProgressWriter(store.records, dump.dumpId, eventLog);
    const bytesTotal = bytesTotalOf(dump);
    try {
      const saved = await states.load(dump.dumpId);
      const state = saved ?? firstState(dump, event, eventLog);
      if (state.fileIndex < dump.files.length) progress.report({ bytesDone: bytesDoneOf(state), bytesTotal });
      const slice = await runSlice(
        { sink, pods, states, settings: deps.settings, clock, now },
        { dump, state, startedAt, progress },
      );
      if (!slice.done) {
        const bytesDone = bytesDoneOf(slice.state);
        await progress.flush({ bytesDone, bytesTotal });
        eventLog.info({ bytesDone, bytesTotal }, 'slice ended; upload.progressed continues it');
        const current = slice.state.current;
        return events(
          EventTypes.uploadProgressed,
          {
            ...dump,
            checkpoint: {
              fileIndex: slice.state.fileIndex,
              offset: current?.rawOffset ?? 0,
              segments: current?.segments.length ?? 0,
              storedBytes: current?.storedBytes ?? 0,
            },
            bytesDone,
            bytesTotal,
          },
          reply,
        );
      }
      await removeFromPod(dump, eventLog);
      await progress.flush({ bytesDone: bytesTotal, bytesTotal });
      eventLog.info({ stored: slice.state.stored.map((file) => file.location) }, 'dump stored');
      return uploaded(dump, slice.state, reply);
    } catch (error) {
      if (error instanceof SupersededError) {
        eventLog.warn(error.message);
        return undefined;
      }
      if (error instanceof PermanentError) {
        const answer = failed(dump, error, reply);
        eventLog.warn({ err: error, fileKept: answer.data?.fileKept }, 'upload failed for good');
        return answer;
      }
      throw error;
    }
  };
}
