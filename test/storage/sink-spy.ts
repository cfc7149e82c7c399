import type { SinkUpload, StorageSink } from '../../adapters/storage/types.ts';

/**
 * A sink that delegates everything to `sink` (method by method: a class's methods do not spread), with
 * the methods `wrap` returns replacing those of each upload it opens.
 */
export function wrapUploads(
  sink: StorageSink,
  wrap: (upload: SinkUpload) => Partial<SinkUpload>,
): StorageSink {
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
        commitSegment: (segment) => upload.commitSegment(segment),
        complete: (segments) => upload.complete(segments),
        release: () => upload.release(),
        ...wrap(upload),
      };
    },
  };
}

/** Wraps a real sink to record what reached it: every committed segment and every byte written. */
export function spyOn(sink: StorageSink) {
  const seen = { committed: [] as number[], bytesWritten: 0, opens: 0 };
  const spied = wrapUploads(sink, (upload) => {
    seen.opens += 1;
    return {
      write: async (chunk) => {
        await upload.write(chunk);
        seen.bytesWritten += chunk.length;
      },
      commitSegment: async (segment) => {
        await upload.commitSegment(segment);
        seen.committed.push(segment.index);
      },
    };
  });
  return { sink: spied, seen };
}
