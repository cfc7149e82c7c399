import { createHash, randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { uploadCheckpoint } from './checkpoint.ts';
import { UploadDigests } from './digests.ts';

const sha256 = (...parts: Buffer[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

const [a, b, c] = [randomBytes(1000), randomBytes(2000), randomBytes(3000)];
const [ga, gb, gc] = [randomBytes(100), randomBytes(200), randomBytes(300)];

it('a segment records the digest of everything from its chain start, and the last one is the whole object', () => {
  const digests = new UploadDigests(true, 0);
  const ends = [];
  for (const [raw, stored] of [
    [a, ga],
    [b, gb],
    [c, gc],
  ] as const) {
    digests.raw(raw);
    digests.stored(stored);
    ends.push(digests.endSegment());
  }
  expect(ends).toEqual([
    { chainStart: 0, rawSha256: sha256(a), storedSha256: sha256(ga) },
    { chainStart: 0, rawSha256: sha256(a, b), storedSha256: sha256(ga, gb) },
    { chainStart: 0, rawSha256: sha256(a, b, c), storedSha256: sha256(ga, gb, gc) },
  ]);
  expect(digests.finish()).toEqual({ rawSha256: sha256(a, b, c), sha256: sha256(ga, gb, gc) });
});

it('uncompressed, the stored digests are the raw ones', () => {
  const digests = new UploadDigests(false, 0);
  digests.raw(a);
  expect(digests.endSegment()).toEqual({ chainStart: 0, rawSha256: sha256(a), storedSha256: sha256(a) });
  expect(digests.finish()).toEqual({ rawSha256: sha256(a), sha256: sha256(a) });
});

it('a run that resumes at segment 2 starts a chain there and cannot know the whole object', () => {
  const digests = new UploadDigests(false, 2);
  digests.raw(c);
  expect(digests.endSegment()).toEqual({ chainStart: 2, rawSha256: sha256(c), storedSha256: sha256(c) });
  expect(digests.finish()).toBeUndefined();
});

it('a restarted chain covers bytes from its start, while the whole-object digest goes on', () => {
  const digests = new UploadDigests(true, 0);
  digests.raw(a);
  digests.stored(ga);
  digests.endSegment();
  digests.restartChain(1);
  digests.raw(b);
  digests.stored(gb);
  expect(digests.endSegment()).toEqual({ chainStart: 1, rawSha256: sha256(b), storedSha256: sha256(gb) });
  expect(digests.finish()).toEqual({ rawSha256: sha256(a, b), sha256: sha256(ga, gb) });
});

it('a version 1 checkpoint (a digest per segment) reads as chains of one segment each', () => {
  const segment = (index: number) => ({
    index,
    rawOffset: index * 10,
    rawBytes: 10,
    storedOffset: index * 5,
    storedBytes: 5,
    rawSha256: 'a'.repeat(64),
    storedSha256: 'b'.repeat(64),
  });
  const parsed = uploadCheckpoint.parse({
    version: 1,
    name: 'd/x.hprof.gz',
    phase: 'uploading',
    gzipLevel: 1,
    segmentBytes: 10,
    blockBytes: 10,
    segments: [segment(0), segment(1)],
    rawOffset: 20,
    storedBytes: 10,
  });
  expect(parsed.version).toBe(2);
  expect(parsed.segments.map((each) => each.chainStart)).toEqual([0, 1]);
  expect(() => uploadCheckpoint.parse({ ...parsed, segments: [{ ...segment(0) }] })).toThrow(/chainStart/);
});
