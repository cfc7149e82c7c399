import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { guarded } from './client.ts';
import type { RunScript, StoreContext } from './context.ts';
import { claimEventScript, observeRestartScript, saveCheckpointScript } from './scripts.ts';

export const DumpState = z.enum([
  'approved',
  'deferred',
  'capturing',
  'captured',
  'uploading',
  'uploaded',
  'failed',
  'skipped',
]);
export type DumpState = z.infer<typeof DumpState>;

/** The dump record: one hash per dump; objects are stored as JSON strings. */
export interface DumpRecord {
  dumpId: string;
  state: DumpState;
  target?: string;
  reason?: string;
  mode?: string;
  createdAt?: number;
  updatedAt?: number;
  /** Stage timestamps, ms since the epoch: `approvedAt`, `capturedAt`, `uploadedAt`, `failedAt`, ... */
  [stageAt: `${string}At`]: number | undefined;
  rawBytes?: number;
  storedBytes?: number;
  bytesDone?: number;
  bytesTotal?: number;
  rateBytesPerSec?: number;
  location?: string;
  metadataLocation?: string;
  sha256?: string;
  error?: { stage: string; code: string; message: string };
  /** Why a queued request was not served after all (`already-dumped`, `disabled`, ...). */
  skipReason?: string;
  fileKept?: boolean;
  files?: { path: string; bytes: number }[];
  /** What exec-dump created or collected for the dump: the only files upload-dump may read and delete. */
  capturedFiles?: { path: string; bytes: number }[];
}

const numericFields = new Set([
  'rawBytes',
  'storedBytes',
  'bytesDone',
  'bytesTotal',
  'rateBytesPerSec',
  'createdAt',
  'updatedAt',
]);
const jsonFields = new Set(['error', 'files', 'capturedFiles']);

function encodeRecord(fields: Partial<DumpRecord>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return out;
}

/** HGETALL's flat [field, value, ...] reply (the client does not reshape it with deserialization off). */
function decodeRecord(flat: string[]): DumpRecord {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i]!;
    const value = flat[i + 1]!;
    if (jsonFields.has(key)) out[key] = JSON.parse(value);
    else if (numericFields.has(key) || key.endsWith('At')) out[key] = Number(value);
    else if (key === 'fileKept') out[key] = value === 'true';
    else out[key] = value;
  }
  return out as unknown as DumpRecord;
}

export interface Retention {
  dedupeSeconds: number;
  /** Dump records, the dumps index and upload states: kept this long after their last change. */
  recordMs: number;
}

export function createRecords(ctx: StoreContext, run: RunScript, options: Retention) {
  const { keys, redis } = ctx;
  return {
    /**
     * Claims an event (source + id) for processing; false if it was claimed before. The key is a hash,
     * so an event's fields never become a key verbatim.
     */
    async claimEvent(source: string, id: string): Promise<boolean> {
      const token = `${ctx.now()}:${randomUUID()}`;
      const claimed = await run<number>(
        'dedupe',
        claimEventScript,
        [keys.seen(source, id)],
        [token, options.dedupeSeconds],
      );
      return Number(claimed) === 1;
    },
    /** Gives a claim back when processing failed transiently, so the Broker's retry is not taken for a duplicate. */
    async unclaimEvent(source: string, id: string): Promise<void> {
      await guarded('dedupe', () => redis.del(keys.seen(source, id)));
    },

    /**
     * Records the highest restart count seen for a container; returns the one recorded before (null if none).
     * `observer` (the reporting event's identity) makes it retry-safe: the observer that raised the count is
     * answered the same again, while anyone else reporting that count sees it as already recorded.
     */
    async observeRestartCount(
      uid: string,
      container: string,
      restartCount: number,
      observer = '',
    ): Promise<number | null> {
      const previous = await run<number>(
        'observe restart',
        observeRestartScript,
        [keys.restarts(uid, container)],
        [restartCount, 30 * 86_400, observer],
      );
      return previous < 0 ? null : previous;
    },

    async updateDump(dumpId: string, fields: Partial<DumpRecord>): Promise<void> {
      const now = ctx.now();
      await guarded('dump record', async () => {
        const tx = redis.multi();
        tx.hsetnx(keys.dump(dumpId), 'createdAt', String(now));
        tx.hset(keys.dump(dumpId), encodeRecord({ ...fields, dumpId, updatedAt: now }));
        tx.pexpire(keys.dump(dumpId), options.recordMs);
        tx.zadd(keys.dumps, { nx: true }, { score: now, member: dumpId });
        // The index forgets what the records themselves no longer hold.
        tx.zremrangebyscore(keys.dumps, 0, now - options.recordMs);
        await tx.exec();
      });
    },

    async getDump(dumpId: string): Promise<DumpRecord | null> {
      const flat = await guarded('dump record', () => redis.hgetall(keys.dump(dumpId)));
      return Array.isArray(flat) && flat.length > 0 ? decodeRecord(flat) : null;
    },

    /** The most recent dumps first. */
    async listDumps(limit = 50): Promise<DumpRecord[]> {
      const ids = await guarded('dump list', () =>
        redis.zrange<string[]>(keys.dumps, 0, limit - 1, { rev: true }),
      );
      if (ids.length === 0) return [];
      const rows = await guarded('dump list', () => {
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hgetall(keys.dump(id));
        return pipeline.exec<string[][]>();
      });
      return rows.flatMap((flat) => (Array.isArray(flat) && flat.length ? [decodeRecord(flat)] : []));
    },

    /** Saves an upload checkpoint; a stale one (fewer segments than stored) is ignored and false returned. */
    async saveCheckpoint(dumpId: string, segments: number, checkpoint: unknown): Promise<boolean> {
      const saved = await run<number>(
        'save checkpoint',
        saveCheckpointScript,
        [keys.upload(dumpId)],
        [segments, JSON.stringify(checkpoint), options.recordMs],
      );
      return saved === 1;
    },
    async loadCheckpoint<T>(dumpId: string): Promise<T | null> {
      const raw = await guarded('load checkpoint', () =>
        redis.hget<string>(keys.upload(dumpId), 'checkpoint'),
      );
      return raw ? (JSON.parse(raw) as T) : null;
    },
    async clearCheckpoint(dumpId: string): Promise<void> {
      await guarded('clear checkpoint', () => redis.del(keys.upload(dumpId)));
    },
  };
}
