import { posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { Stats } from 'ssh2';
import { classifyStorageError, SFTP_STATUS, StorageError } from './errors.ts';
import { pinnedFingerprints } from './host-key-pin.ts';
import { intactSegmentCount, storedEnd } from './intact-segments.ts';
import { objectNameSegments, partialNameOf } from './object-name.ts';
import { connectSftp, type SftpConnection, type SftpConnectionConfig } from './sftp-connection.ts';
import { PipelinedSftpWriter, pipelinedSftpReader } from './sftp-io.ts';
import type { SegmentRecord, SinkUpload, StorageSink } from './types.ts';

export interface SftpSinkConfig extends SftpConnectionConfig {
  /** Remote directory every object lives below (absolute, or relative to the login directory). */
  root: string;
  /** Unacknowledged bytes allowed in flight; more hides more latency, costs as much memory. */
  maxInFlightBytes?: number;
  /** fsync@openssh.com after every segment, so committed segments survive a server crash too. */
  fsync?: boolean;
}

/**
 * OpenSSH's session channel window, and what its own sftp client keeps in flight (64 × 32 KiB). More
 * than the window only queues in ssh2 until the server adjusts it, which measured here costs CPU and
 * memory and gains nothing (2 MiB: less CPU and ~10 MiB less RSS than 4 or 8 MiB, same speed).
 */
const DEFAULT_IN_FLIGHT = 2 * 1024 * 1024;

async function lstatOrUndefined(conn: SftpConnection, path: string): Promise<Stats | undefined> {
  try {
    return await conn.request<Stats>((cb) => conn.sftp.lstat(path, cb));
  } catch (error) {
    if ((error as { code?: unknown }).code === SFTP_STATUS.NO_SUCH_FILE) return undefined;
    throw error;
  }
}

/** Creates the parent directories of `path` below `root` one by one, refusing to pass through a symlink. */
async function ensureParents(conn: SftpConnection, root: string, segments: string[]): Promise<void> {
  let dir = root;
  for (const segment of segments.slice(0, -1)) {
    dir = posix.join(dir, segment);
    let stats = await lstatOrUndefined(conn, dir);
    if (!stats) {
      await conn
        .request((cb) => conn.sftp.mkdir(dir, cb))
        .catch(async (error) => {
          stats = await lstatOrUndefined(conn, dir); // created concurrently by another upload
          if (!stats) throw error;
        });
      stats ??= await lstatOrUndefined(conn, dir);
    }
    if (!stats?.isDirectory()) {
      throw new StorageError(
        'rejected',
        `${dir} is not a plain directory (a symlink?); refusing to follow it`,
      );
    }
  }
}

/** Renames over an existing target: posix-rename@openssh.com where the server has it, else remove + rename. */
async function replace(conn: SftpConnection, from: string, to: string): Promise<void> {
  const { sftp } = conn;
  try {
    await conn.request((cb) => sftp.ext_openssh_rename(from, to, cb));
    return;
  } catch (error) {
    if (!/not support/i.test((error as Error).message)) throw error;
  }
  await conn.request((cb) => sftp.unlink(to, cb)).catch(() => {});
  await conn.request((cb) => sftp.rename(from, to, cb));
}

export function createSftpSink(config: SftpSinkConfig): StorageSink {
  pinnedFingerprints(config.hostKey, config.host, config.port ?? 22); // a pin naming no key fails here, at start-up
  const where = `sftp://${config.host}:${config.port ?? 22}`;
  const pathOf = (name: string) => posix.join(config.root, ...objectNameSegments(name));
  let connecting: Promise<SftpConnection> | undefined;

  /** One connection per sink, re-established after the server or network dropped it. */
  function connection(): Promise<SftpConnection> {
    if (!connecting) {
      const attempt = connectSftp(config);
      connecting = attempt;
      const forget = () => {
        if (connecting === attempt) connecting = undefined;
      };
      attempt.then((open) => open.closed.then(forget), forget);
    }
    return connecting;
  }
  const step = async <T>(doing: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw classifyStorageError(error, `${doing} on ${where}`);
    }
  };
  const guard = <T>(doing: string, work: (conn: SftpConnection) => Promise<T>): Promise<T> =>
    step(doing, async () => work(await connection()));

  async function openUpload(name: string, committed: readonly SegmentRecord[]): Promise<SinkUpload> {
    const path = pathOf(name);
    const partial = partialNameOf(path);
    return guard(`opening ${partial}`, async (conn) => {
      const { sftp, request: call } = conn;
      await ensureParents(conn, config.root, objectNameSegments(name));
      const existing = await lstatOrUndefined(conn, partial);
      if (existing && !existing.isFile()) {
        throw new StorageError('rejected', `${partial} exists and is not a regular file; refusing to write`);
      }
      const intactSegments = existing ? intactSegmentCount(committed, existing.size) : 0;
      const start = storedEnd(committed, intactSegments);
      const handle = await call<Buffer>((cb) => sftp.open(partial, start > 0 ? 'r+' : 'w', cb));
      // Bytes after the last intact segment belong to a segment that was never committed.
      if (existing && existing.size !== start) await call((cb) => sftp.fsetstat(handle, { size: start }, cb));
      const writer = new PipelinedSftpWriter(
        conn,
        handle,
        start,
        config.maxInFlightBytes ?? DEFAULT_IN_FLIGHT,
      );
      let open = true;
      const closeHandle = async () => {
        if (!open) return;
        open = false;
        await call((cb) => sftp.close(handle, cb));
      };
      return {
        intactSegments,
        write: (chunk) => step(`writing ${partial}`, () => writer.write(chunk)),
        commitSegment: () =>
          step(`committing a segment of ${partial}`, async () => {
            await writer.drain();
            if (config.fsync)
              await call((cb) => sftp.ext_openssh_fsync(handle, (error) => cb(error, undefined)));
          }),
        complete: (segments) =>
          step(`publishing ${path}`, async () => {
            await writer.drain();
            const expected = storedEnd(segments, segments.length);
            const { size } = await call<Stats>((cb) => sftp.fstat(handle, cb));
            if (size !== expected || writer.position !== expected) {
              throw new StorageError('integrity', `${partial} holds ${size} bytes, expected ${expected}`);
            }
            await closeHandle();
            await replace(conn, partial, path);
          }),
        release: async () => {
          await writer.drain().catch(() => {});
          await closeHandle().catch(() => {});
        },
      };
    });
  }

  return {
    kind: 'sftp',
    locationOf: (name) => `${where}${posix.resolve('/', pathOf(name))}`,
    openUpload,
    // async, so a name that fails validation rejects like any other failure instead of throwing
    putJson: async (name, value) =>
      guard(`writing ${pathOf(name)}`, async (conn) => {
        await ensureParents(conn, config.root, objectNameSegments(name));
        const path = pathOf(name);
        const temp = `${path}.tmp`;
        await conn.request((cb) =>
          conn.sftp.writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, (error) => cb(error, undefined)),
        );
        await replace(conn, temp, path);
      }),
    stat: async (name) =>
      guard(`checking ${pathOf(name)}`, async (conn) => {
        const stats = await lstatOrUndefined(conn, pathOf(name));
        return stats?.isFile() ? { size: stats.size } : undefined;
      }),
    read(name): Readable {
      const out = new PassThrough();
      guard(`reading ${pathOf(name)}`, async (conn) => pipelinedSftpReader(conn, pathOf(name))).then(
        (source) =>
          source
            .on('error', (error) => out.destroy(classifyStorageError(error, `reading ${name}`)))
            .pipe(out),
        (error) => out.destroy(error),
      );
      return out;
    },
    async close() {
      const open = connecting;
      connecting = undefined;
      const conn = await open?.catch(() => undefined);
      conn?.end();
      await conn?.closed;
    },
  };
}
