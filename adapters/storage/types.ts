import type { Readable } from 'node:stream';

/**
 * One independently committed piece of an upload. Segments are the unit of resume: after a segment is
 * committed it is durable in the sink, and a resumed upload continues at the next one.
 */
export interface SegmentRecord {
  index: number;
  /** Where this segment starts in the raw dump, and how many raw bytes it holds. */
  rawOffset: number;
  rawBytes: number;
  /** Where this segment starts in the stored object, and how many bytes it takes there. */
  storedOffset: number;
  storedBytes: number;
  /**
   * sha256 of the raw and the stored bytes from the start of segment `chainStart` to the end of this one
   * (see UploadDigests): from the object's start, unless a resumed run started a new chain.
   */
  chainStart: number;
  rawSha256: string;
  storedSha256: string;
}

export interface StoredObjectInfo {
  size: number;
}

export type SinkKind = 'file' | 'sftp' | 'azure';

/** Where dumps go. Names are relative object names (`a/b/c.hprof.gz`), validated against the sink's root. */
export interface StorageSink {
  readonly kind: SinkKind;
  /** A human-readable location for the dump record, e.g. `sftp://host:22/dumps/a/b.hprof.gz`. */
  locationOf(name: string): string;
  /**
   * Starts or resumes the upload of `name`. `committed` are the segments a previous run committed (from
   * its checkpoint); the sink checks which of them are still intact and reports it in `intactSegments`.
   */
  openUpload(name: string, committed: readonly SegmentRecord[]): Promise<SinkUpload>;
  /** Writes a small JSON document (the metadata beside a dump), replacing it atomically where possible. */
  putJson(name: string, value: unknown): Promise<void>;
  /** Size of a published object, or undefined when there is none. */
  stat(name: string): Promise<StoredObjectInfo | undefined>;
  /** Streams a published object back, for verification. */
  read(name: string): Readable;
  close(): Promise<void>;
}

export interface SinkUpload {
  /**
   * How many leading segments of `committed` are durably stored. The upload continues with segment
   * `intactSegments`; anything stored after it (a half-written segment) is discarded.
   */
  readonly intactSegments: number;
  /** Appends stored bytes; resolves when the sink has room for more (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /** Resolves once every byte of `segment` is durably stored. */
  commitSegment(segment: SegmentRecord): Promise<void>;
  /** Publishes the object under its final name (rename, commitBlockList); before this nobody sees it. */
  complete(segments: readonly SegmentRecord[]): Promise<void>;
  /** Releases the upload's resources, keeping what is stored for a later resume. */
  release(): Promise<void>;
}
