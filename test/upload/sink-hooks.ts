import type { SegmentRecord, StorageSink } from '../../adapters/storage/types.ts';
import { wrapUploads } from '../storage/sink-spy.ts';

/** Wraps a real sink to call `hook` after each segment it commits (to end a slice, or to pull the plug). */
export function onCommit(sink: StorageSink, hook: (segment: SegmentRecord) => void): StorageSink {
  return wrapUploads(sink, (upload) => ({
    commitSegment: async (segment) => {
      await upload.commitSegment(segment);
      hook(segment);
    },
  }));
}
