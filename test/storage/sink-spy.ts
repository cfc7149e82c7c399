import type { StorageSink } from '../../adapters/storage/types.ts';

/** Wraps a real sink to record what reached it: every committed segment and every byte written. */
export function spyOn(sink: StorageSink) {
  const seen = { committed: [] as number[], bytesWritten: 0, opens: 0 };
  const spied: StorageSink = {
    ...sink,
    locationOf: (name) => sink.locationOf(name),
    putJson: (name, value) => sink.putJson(name, value),
    stat: (name) => sink.stat(name),
    read: (name) => sink.read(name),
    close: () => sink.close(),
    async openUpload(name, committed) {
      const upload = await sink.openUpload(name, committed);
      seen.opens += 1;
      return {
        intactSegments: upload.intactSegments,
        write: async (chunk) => {
          await upload.write(chunk);
          seen.bytesWritten += chunk.length;
        },
        commitSegment: async (segment) => {
          await upload.commitSegment(segment);
          seen.committed.push(segment.index);
        },
        complete: (segments) => upload.complete(segments),
        release: () => upload.release(),
      };
    },
  };
  return { sink: spied, seen };
}
