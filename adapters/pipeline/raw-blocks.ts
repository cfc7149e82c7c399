/** A run of raw dump bytes; `endsSegment` marks the last block of a segment (a commit point). */
export interface RawBlock {
  segment: number;
  rawOffset: number;
  data: Buffer;
  endsSegment: boolean;
}

export interface RawBlockOptions {
  /** Raw bytes per block (one gzip member); the unit of parallel compression. */
  blockBytes: number;
  /** Raw bytes per segment (a whole number of blocks, the last one may be short); the unit of resume. */
  segmentBytes: number;
  /** Index of the segment the source starts with, and its raw offset (non-zero when resuming). */
  firstSegment: number;
  rawOffset: number;
}

/**
 * Cuts a byte stream into blocks that never straddle a segment boundary. A block is emitted once a byte
 * beyond it has arrived, so the final block is known to be final and closes its segment.
 */
export async function* rawBlocks(
  source: AsyncIterable<Buffer>,
  options: RawBlockOptions,
): AsyncGenerator<RawBlock> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let segment = options.firstSegment;
  let segmentLeft = options.segmentBytes;
  let rawOffset = options.rawOffset;

  const take = (bytes: number): Buffer => {
    const first = pending[0]!;
    if (first.length >= bytes) {
      pending[0] = first.subarray(bytes);
      if (pending[0].length === 0) pending.shift();
      pendingBytes -= bytes;
      return first.subarray(0, bytes);
    }
    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const head = pending[0]!;
      const used = Math.min(head.length, bytes - filled);
      head.copy(out, filled, 0, used);
      filled += used;
      if (used === head.length) pending.shift();
      else pending[0] = head.subarray(used);
    }
    pendingBytes -= bytes;
    return out;
  };
  const emit = (bytes: number, last: boolean): RawBlock => {
    const block = { segment, rawOffset, data: take(bytes), endsSegment: last || segmentLeft === bytes };
    rawOffset += bytes;
    segmentLeft -= bytes;
    if (block.endsSegment) {
      segment += 1;
      segmentLeft = options.segmentBytes;
    }
    return block;
  };

  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    pending.push(chunk);
    pendingBytes += chunk.length;
    for (let size = Math.min(options.blockBytes, segmentLeft); pendingBytes > size; ) {
      yield emit(size, false);
      size = Math.min(options.blockBytes, segmentLeft);
    }
  }
  if (pendingBytes > 0 || rawOffset === 0) yield emit(pendingBytes, true);
  pending = [];
}
