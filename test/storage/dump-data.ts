import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const CHUNK = 1024 * 1024;
const MASKS = [0xffffffff, 0x000f000f, 0x000000ff, 0];

/**
 * Deterministic bytes that compress somewhat, like a heap dump: every 1 KiB run is random or
 * mostly zero (about half the bytes survive gzip -1). Chunk `i` depends only on (seed, i), so the
 * stream can be reopened at any offset, which is what a resumed upload does.
 */
function fillChunk(out: Buffer, seed: number, index: number): void {
  // xorshift32, seeded per chunk; fast enough to make a GiB in about a second
  let state = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0 || 1;
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length / 4);
  let mask = 0xffffffff;
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    if ((i & 255) === 0) mask = MASKS[state & 3]!;
    words[i] = (state & mask) >>> 0;
  }
}

/** `totalBytes` of seeded data starting at `fromOffset`, in 1 MiB chunks. */
export function seededData(totalBytes: number, seed: number, fromOffset = 0): Readable {
  let offset = fromOffset;
  return new Readable({
    read() {
      if (offset >= totalBytes) return void this.push(null);
      const index = Math.floor(offset / CHUNK);
      const chunk = Buffer.allocUnsafe(CHUNK);
      fillChunk(chunk, seed, index);
      const start = offset - index * CHUNK;
      const end = Math.min(CHUNK, totalBytes - index * CHUNK);
      offset = index * CHUNK + end;
      this.push(chunk.subarray(start, end));
    },
  });
}

export async function sha256Of(stream: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}
