import type { SegmentRecord } from './types.ts';

/** How many leading segments fit completely in the first `storedSize` bytes of the stored object. */
export function intactSegmentCount(committed: readonly SegmentRecord[], storedSize: number): number {
  let count = 0;
  for (const segment of committed) {
    if (segment.index !== count || segment.storedOffset + segment.storedBytes > storedSize) break;
    count += 1;
  }
  return count;
}

/** Stored bytes taken by the first `count` segments. */
export function storedEnd(committed: readonly SegmentRecord[], count: number): number {
  const last = count > 0 ? committed[count - 1] : undefined;
  return last ? last.storedOffset + last.storedBytes : 0;
}
