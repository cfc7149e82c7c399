import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { classifyStorageError, StorageError } from './errors.ts';
import { intactSegmentCount, storedEnd } from './intact-segments.ts';
import { objectNameSegments, partialNameOf } from './object-name.ts';
import type { SegmentRecord, SinkUpload, StorageSink, StoredObjectInfo } from './types.ts';

export interface FileSinkConfig {
  /** An existing directory (a mounted volume); every object lives below it. */
  root: string;
  /** fdatasync after every segment, so a committed segment survives a machine crash too. */
  fsync?: boolean;
}

const { O_RDWR, O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;

/** Creates the parent directories of `name` one level at a time, refusing symlinks on the way. */
async function ensureParents(root: string, segments: string[]): Promise<string> {
  let dir = root;
  for (const segment of segments.slice(0, -1)) {
    dir = join(dir, segment);
    await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    const stats = await lstat(dir);
    if (!stats.isDirectory()) {
      throw new StorageError(
        'rejected',
        `${dir} is not a plain directory (a symlink?); refusing to follow it`,
      );
    }
  }
  return join(dir, segments.at(-1)!);
}

export function createFileSink(config: FileSinkConfig): StorageSink {
  const pathOf = (name: string) => join(config.root, ...objectNameSegments(name));
  const guard = async <T>(doing: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw classifyStorageError(error, doing);
    }
  };

  async function openUpload(name: string, committed: readonly SegmentRecord[]): Promise<SinkUpload> {
    const path = pathOf(name);
    const partial = partialNameOf(path);
    return guard(`opening ${partial}`, async () => {
      await ensureParents(config.root, objectNameSegments(name));
      const existing = await lstat(partial).catch(() => undefined);
      const intactSegments = existing?.isFile() ? intactSegmentCount(committed, existing.size) : 0;
      let position = storedEnd(committed, intactSegments);
      const handle: FileHandle =
        position > 0
          ? await open(partial, O_RDWR | O_NOFOLLOW)
          : await open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o640);
      // A segment written after the last checkpoint is discarded and written again.
      await handle.truncate(position);
      return {
        intactSegments,
        write: (chunk) =>
          guard(`writing ${partial}`, async () => {
            let done = 0;
            while (done < chunk.length) {
              const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position);
              done += bytesWritten;
              position += bytesWritten;
            }
          }),
        commitSegment: async () => {
          if (config.fsync) await guard(`syncing ${partial}`, () => handle.datasync());
        },
        complete: (segments) =>
          guard(`publishing ${path}`, async () => {
            const expected = storedEnd(segments, segments.length);
            if (position !== expected) {
              throw new StorageError('integrity', `${partial} holds ${position} bytes, expected ${expected}`);
            }
            if (config.fsync) await handle.sync();
            await handle.close();
            await rename(partial, path);
          }),
        release: async () => {
          await handle.close().catch(() => {});
        },
      };
    });
  }

  return {
    kind: 'file',
    locationOf: (name) => `file://${pathOf(name)}`,
    openUpload,
    // async, so a name that fails validation rejects like any other failure instead of throwing
    putJson: async (name, value) =>
      guard(`writing ${pathOf(name)}`, async () => {
        const path = await ensureParents(config.root, objectNameSegments(name));
        const temp = `${path}.tmp`;
        await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, {
          flag: O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
        });
        await rename(temp, path);
      }),
    async stat(name): Promise<StoredObjectInfo | undefined> {
      const stats = await lstat(pathOf(name)).catch(() => undefined);
      return stats?.isFile() ? { size: stats.size } : undefined;
    },
    read(name): Readable {
      const out = new PassThrough();
      open(pathOf(name), constants.O_RDONLY | O_NOFOLLOW).then(
        (handle) =>
          handle
            .createReadStream({ highWaterMark: 1 << 20 })
            .on('error', (error) => out.destroy(classifyStorageError(error, `reading ${name}`)))
            .pipe(out),
        (error) => out.destroy(classifyStorageError(error, `reading ${name}`)),
      );
      return out;
    },
    async close() {},
  };
}
