import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipMember } from './gzip-member.ts';

/** Half text-like, half random: some of it compresses, and the output spans several zlib output chunks. */
function dumpLike(bytes: number): Buffer {
  const data = randomBytes(bytes);
  for (let i = 0; i < bytes; i += 2) data[i] = 97 + (data[i]! % 16);
  return data;
}

describe('gzipMember', () => {
  it('members concatenated are one .gz of the blocks concatenated', async () => {
    const blocks = [dumpLike(3 * 1024 * 1024), dumpLike(100_000), Buffer.alloc(0)];
    const members = await Promise.all(blocks.map((block) => gzipMember(block, 1)));
    expect(gunzipSync(Buffer.concat(members)).equals(Buffer.concat(blocks))).toBe(true);
  });

  it('writes the same bytes as zlib with its default output chunk, so earlier segment digests still match', async () => {
    const block = dumpLike(2 * 1024 * 1024);
    for (const level of [1, 6]) {
      expect((await gzipMember(block, level)).equals(gzipSync(block, { level }))).toBe(true);
    }
  });
});
