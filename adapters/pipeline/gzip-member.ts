import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/**
 * zlib hands output back in `chunkSize` pieces, one thread-pool round trip each; its 16 KiB default made
 * two parallel level-1 members of 4 MiB run at 77 MB/s here, 1 MiB at 108–116 MB/s (and 20 % less CPU).
 * The bytes do not depend on it (checked), so resumed uploads still match their segment digests.
 */
const OUTPUT_CHUNK_BYTES = 1024 * 1024;

/** One block as a complete gzip member: members concatenated are one valid .gz. */
export function gzipMember(data: Buffer, level: number): Promise<Buffer> {
  return gzipAsync(data, { level, chunkSize: OUTPUT_CHUNK_BYTES });
}
