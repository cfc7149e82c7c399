import type { DumpRecord, Store } from '../../adapters/redis-store/index.ts';
import type { Logger } from '../lib/log.ts';

export type ProgressReport = { bytesDone: number; bytesTotal: number; rateBytesPerSec?: number };

/**
 * Writes upload progress to the dump record for `heapdump watch`. Reports come from the pipeline's
 * synchronous callback: one write at a time, the newest report wins, and a failed write only costs a
 * stale progress bar, never the upload.
 */
export function createProgressWriter(records: Store['records'], dumpId: string, log: Logger) {
  let writing: Promise<void> | undefined;
  let next: ProgressReport | undefined;

  const write = (fields: Partial<DumpRecord>): Promise<void> =>
    records
      .updateDump(dumpId, fields)
      .catch((error: unknown) => log.warn({ err: error }, 'could not record upload progress'));

  const pump = () => {
    if (writing || !next) return;
    const report = next;
    next = undefined;
    writing = write({ state: 'uploading', ...report }).finally(() => {
      writing = undefined;
      pump();
    });
  };

  return {
    report(report: ProgressReport): void {
      next = report;
      pump();
    },
    /**
     * Waits for the writes under way, then records `report` (the slice's last word). The state is left
     * alone: after the last slice it is release-token's to set, and a redelivery must not undo it.
     */
    async flush(report: ProgressReport): Promise<void> {
      next = undefined;
      while (writing) await writing;
      await write(report);
    },
  };
}
