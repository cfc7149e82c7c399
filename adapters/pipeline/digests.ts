import { createHash, type Hash } from 'node:crypto';

export interface ObjectDigests {
  /** sha256 of the stored object (the .gz when compressed). */
  sha256: string;
  /** sha256 of the raw dump. */
  rawSha256: string;
}

export interface SegmentDigests {
  /** The segment this digest chain starts at: 0, or the first segment of a resumed run. */
  chainStart: number;
  /** sha256 of the raw and the stored bytes from the start of segment `chainStart` to the end of this one. */
  rawSha256: string;
  storedSha256: string;
}

/** Whether segment `index` of an upload begins a new digest chain (a run resumed there). */
export function startsChain(segments: readonly { chainStart: number }[], index: number): boolean {
  return index > 0 && segments[index]?.chainStart === index;
}

/**
 * The digests of an upload, one sha256 pass per byte stream. A segment records the running digest of its
 * chain, taken with Hash.copy() at its end, instead of a digest of its own bytes: that one would need a
 * second pass over every byte, and the main thread hashing twice was a fifth of an upload's CPU. A chain
 * starts at segment 0 and, when an upload resumes in another process, again at its first segment: Node's
 * hash state cannot be carried in a checkpoint (the serializable JS/WASM SHA-256s measured here, hash-wasm
 * ~210 MB/s and @noble/hashes ~100 MB/s against ~1.4 GB/s for node:crypto with SHA-NI, would cap an
 * uncapped upload). So a chain from segment 0 to the end is the whole object's digest; an upload that ran
 * in several processes reads the object back for it, and the chains prove that read-back right (see
 * verify-stored.ts). Without compression stored and raw bytes are the same, and hashed once.
 */
export class UploadDigests {
  private chainStart: number;
  private chainRaw: Hash;
  private chainStored: Hash | undefined;
  /** Hashes from the object's first byte; the chain's own while it started at segment 0. */
  private readonly wholeRaw: Hash | undefined;
  private readonly wholeStored: Hash | undefined;

  constructor(
    private readonly compressed: boolean,
    firstSegment: number,
  ) {
    this.chainStart = firstSegment;
    this.chainRaw = createHash('sha256');
    this.chainStored = compressed ? createHash('sha256') : undefined;
    this.wholeRaw = firstSegment === 0 ? this.chainRaw : undefined;
    this.wholeStored = firstSegment === 0 ? this.chainStored : undefined;
  }

  /** Starts a new chain at `segment` (where a resumed run began); the whole-object digests go on. */
  restartChain(segment: number): void {
    this.chainStart = segment;
    this.chainRaw = createHash('sha256');
    this.chainStored = this.compressed ? createHash('sha256') : undefined;
  }

  raw(data: Buffer): void {
    this.chainRaw.update(data);
    if (this.wholeRaw && this.wholeRaw !== this.chainRaw) this.wholeRaw.update(data);
  }

  stored(data: Buffer): void {
    this.chainStored?.update(data);
    if (this.wholeStored && this.wholeStored !== this.chainStored) this.wholeStored.update(data);
  }

  /** The chain's digests at the end of the segment just finished. */
  endSegment(): SegmentDigests {
    const rawSha256 = this.chainRaw.copy().digest('hex');
    const storedSha256 = this.chainStored?.copy().digest('hex') ?? rawSha256;
    return { chainStart: this.chainStart, rawSha256, storedSha256 };
  }

  /** Whole-object digests, when this run started at the object's beginning. */
  finish(): ObjectDigests | undefined {
    if (!this.wholeRaw) return undefined;
    const rawSha256 = this.wholeRaw.digest('hex');
    return { rawSha256, sha256: this.wholeStored?.digest('hex') ?? rawSha256 };
  }
}
