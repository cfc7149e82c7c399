import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/**
 * zlib hands output back in `chunkSize` pieces, one thread-pool round trip each. Its 16 KiB default made
 * two parallel level-1 members of 4 MiB run at 77 MB/s here, 1 MiB at 108–116 MB/s (and 20 % less CPU);
 * a gunzip stream, 155 → 296 MB/s. The bytes do not depend on it (checked), so resumed uploads still match
 * their segment digests.
 */
export const ZLIB_CHUNK_BYTES = 1024 * 1024;

/** One block as a complete gzip member: members concatenated are one valid .gz. */
export function gzipMember(data: Buffer, level: number): Promise<Buffer> {
  return gzipAsync(data, { level, chunkSize: ZLIB_CHUNK_BYTES });
}
