import { Readable } from 'node:stream';
import type { SftpConnection } from './sftp-connection.ts';

/**
 * Keeps many SFTP WRITE requests in flight at increasing offsets, as ssh2's fastPut does from a file,
 * but fed from a stream: a write resolves as soon as the window has room, so the caller is slowed down
 * only when `maxInFlightBytes` are unacknowledged. One outstanding write (ssh2-sftp-client's put) pays
 * a full round trip per 32 KiB; this pays it once per window.
 */
export class PipelinedSftpWriter {
  private inFlight = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly connection: SftpConnection,
    private readonly handle: Buffer,
    public position: number,
    private readonly maxInFlightBytes: number,
  ) {
    // ssh2 drops the writes still unanswered when the connection closes: without this they would be
    // waited for forever.
    connection.closed.then(() => this.fail(connection.lost!));
  }

  async write(chunk: Buffer): Promise<void> {
    const { sftp, maxWriteBytes } = this.connection;
    const lengthAt = (offset: number) => Math.min(maxWriteBytes, chunk.length - offset);
    const fits = (offset: number) => this.inFlight + lengthAt(offset) <= this.maxInFlightBytes;
    for (let offset = 0; offset < chunk.length; ) {
      await this.waitUntil(() => fits(offset));
      if (this.connection.lost) this.fail(this.connection.lost);
      if (this.failure) throw this.failure;
      // Every request that fits the window now goes out in one batch.
      this.connection.batched(() => {
        for (; offset < chunk.length && fits(offset); offset += lengthAt(offset)) {
          const length = lengthAt(offset);
          this.inFlight += length;
          // ssh2 copies the bytes into its packet synchronously, so `chunk` may be reused once write() returns.
          sftp.write(this.handle, chunk, offset, length, this.position, (error) => {
            this.inFlight -= length;
            if (error) this.fail(error);
            else this.wakeUp();
          });
          this.position += length;
        }
      });
    }
  }

  /** Resolves once every write issued so far is acknowledged; rejects with the first write error. */
  drain(): Promise<void> {
    return this.waitUntil(() => this.inFlight === 0);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async waitUntil(ready: () => boolean): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (ready()) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

/** Reads a remote file with `parallel` READ requests ahead of the consumer, in order. */
export function pipelinedSftpReader(connection: SftpConnection, path: string, parallel = 16): Readable {
  const { sftp, request: call } = connection;
  const chunkBytes = connection.maxWriteBytes;
  const readAt = (handle: Buffer, position: number) => {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    return call<number>((cb) => sftp.read(handle, buffer, 0, chunkBytes, position, cb)).then((bytesRead) =>
      buffer.subarray(0, bytesRead),
    );
  };

  async function* chunks(): AsyncGenerator<Buffer> {
    const handle = await call<Buffer>((cb) => sftp.open(path, 'r', cb));
    try {
      const { size } = await call<{ size: number }>((cb) => sftp.fstat(handle, cb));
      const pending: Promise<Buffer>[] = [];
      let next = 0;
      let position = 0;
      while (position < size) {
        while (pending.length < parallel && next < size) {
          const reading = readAt(handle, next);
          reading.catch(() => {}); // awaited below in order; an early failure must not go unhandled
          pending.push(reading);
          next += chunkBytes;
        }
        let chunk = await pending.shift()!;
        // A short read (the server may cap READ sizes) leaves a gap: fetch the rest before moving on.
        while (chunk.length > 0 && chunk.length < Math.min(chunkBytes, size - position)) {
          const rest = await readAt(handle, position + chunk.length);
          if (rest.length === 0) break;
          chunk = Buffer.concat([chunk, rest.subarray(0, Math.min(rest.length, chunkBytes - chunk.length))]);
        }
        if (chunk.length === 0) break;
        position += chunk.length;
        yield chunk;
      }
    } finally {
      await call<void>((cb) => sftp.close(handle, cb)).catch(() => {});
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
