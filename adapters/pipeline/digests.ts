import { createHash, type Hash } from 'node:crypto';

export interface ObjectDigests {
  /** sha256 of the stored object (the .gz when compressed). */
  sha256: string;
  /** sha256 of the raw dump. */
  rawSha256: string;
}

/**
 * sha256 per segment and, while the upload runs in one process, over the whole object. Node's hash state
 * cannot be serialized into a checkpoint, and the serializable JS/WASM SHA-256s measured here (hash-wasm
 * ~210 MB/s, @noble/hashes ~100 MB/s, against ~1.4 GB/s for node:crypto with SHA-NI) would be the
 * bottleneck of an uncapped upload. So a resumed upload gets its whole-object digests by reading the
 * stored object back (see verify-stored.ts), and the per-segment digests prove that read-back right.
 * Without compression stored and raw bytes are the same, and each is hashed once.
 */
export class UploadDigests {
  private readonly wholeRaw: Hash | undefined;
  private readonly wholeStored: Hash | undefined;
  private segmentRaw = createHash('sha256');
  private segmentStored: Hash | undefined;

  constructor(
    whole: boolean,
    private readonly compressed: boolean,
  ) {
    this.wholeRaw = whole ? createHash('sha256') : undefined;
    this.wholeStored = whole && compressed ? createHash('sha256') : undefined;
    this.segmentStored = compressed ? createHash('sha256') : undefined;
  }

  raw(data: Buffer): void {
    this.segmentRaw.update(data);
    this.wholeRaw?.update(data);
  }

  stored(data: Buffer): void {
    this.segmentStored?.update(data);
    this.wholeStored?.update(data);
  }

  /** Digests of the segment just finished; starts the next one. */
  endSegment(): { rawSha256: string; storedSha256: string } {
    const rawSha256 = this.segmentRaw.digest('hex');
    const storedSha256 = this.segmentStored?.digest('hex') ?? rawSha256;
    this.segmentRaw = createHash('sha256');
    if (this.compressed) this.segmentStored = createHash('sha256');
    return { rawSha256, storedSha256 };
  }

  /** Whole-object digests, when this process saw every byte. */
  finish(): ObjectDigests | undefined {
    if (!this.wholeRaw) return undefined;
    const rawSha256 = this.wholeRaw.digest('hex');
    return { rawSha256, sha256: this.wholeStored?.digest('hex') ?? rawSha256 };
  }
}
