import type { SegmentRecord, StorageSink } from '../../adapters/storage/types.ts';

/** Wraps a real sink to call `hook` after each segment it commits (to end a slice, or to pull the plug). */
export function onCommit(sink: StorageSink, hook: (segment: SegmentRecord) => void): StorageSink {
  return {
    ...sink,
    locationOf: (name) => sink.locationOf(name),
    putJson: (name, value) => sink.putJson(name, value),
    stat: (name) => sink.stat(name),
    read: (name) => sink.read(name),
    close: () => sink.close(),
    async openUpload(name, committed) {
      const upload = await sink.openUpload(name, committed);
      return {
        intactSegments: upload.intactSegments,
        write: (chunk) => upload.write(chunk),
        commitSegment: async (segment) => {
          await upload.commitSegment(segment);
          hook(segment);
        },
        complete: (segments) => upload.complete(segments),
        release: () => upload.release(),
      };
    },
  };
}
