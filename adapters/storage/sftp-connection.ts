import { createConnection } from 'node:net';
import { Client, type SFTPWrapper } from 'ssh2';
import { classifyStorageError, StorageError } from './errors.ts';
import { fingerprintOf, pinnedFingerprints } from './host-key-pin.ts';

export interface SftpConnectionConfig {
  host: string;
  port?: number;
  username: string;
  /** OpenSSH or PEM private key text. */
  privateKey: string;
  passphrase?: string;
  /** Pinned host key(s): fingerprints, public keys, or known_hosts lines (see pinnedFingerprints). */
  hostKey: string;
  readyTimeoutMs?: number;
}

export type SftpCallback<T> = (error: Error | undefined | null, value: T) => void;

export interface SftpConnection {
  sftp: SFTPWrapper;
  /** Largest payload one SFTP WRITE may carry on this server (OpenSSH announces it via limits@openssh.com). */
  maxWriteBytes: number;
  /**
   * Runs one SFTP request. ssh2 never answers a request sent after the channel closed, so this fails it
   * at once (or when the connection drops while it waits) instead of leaving the caller hanging.
   */
  request<T = void>(run: (cb: SftpCallback<T>) => void): Promise<T>;
  /**
   * Runs `issue` with the socket corked until the end of this tick: the SSH packets of the requests it
   * sends leave in one writev instead of a syscall per 32 KiB packet, a good part of an upload's CPU.
   */
  batched(issue: () => void): void;
  /** The error every request gets once the connection is gone; undefined while it is open. */
  readonly lost: Error | undefined;
  end(): void;
  /** Resolves when the connection is gone (closed by us, the server, or the network). */
  closed: Promise<void>;
}

// AES-GCM runs on AES-NI through OpenSSL; ssh2's chacha20-poly1305 is slower in Node (measured here).
const CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes256-ctr',
] as const;

const FALLBACK_WRITE_BYTES = 32 * 1024; // every SFTP server must accept this much (draft-02 section 3)

/** Connects and opens the sftp subsystem, accepting only a server whose host key is pinned. */
export function connectSftp(config: SftpConnectionConfig): Promise<SftpConnection> {
  const port = config.port ?? 22;
  const where = `sftp://${config.host}:${port}`;
  const pinned = pinnedFingerprints(config.hostKey, config.host, port);
  let presented: string | undefined;

  return new Promise((resolve, reject) => {
    const client = new Client();
    // Our own socket (ssh2 takes one as `sock`), so what ssh2 writes in one tick leaves in one writev
    // instead of a syscall per 32 KiB SSH packet: our write requests, and the ones ssh2 held back until
    // the server's window adjustment (sent from its 'data' handler) arrived.
    const sock = createConnection({ host: config.host, port });
    let corked = false;
    const corkThisTick = () => {
      if (corked) return;
      corked = true;
      sock.cork();
      process.nextTick(() => {
        corked = false;
        sock.uncork();
      });
    };
    sock.prependListener('data', corkThisTick);
    let lost: Error | undefined;
    const waiting = new Set<(error: Error) => void>();
    const closed = new Promise<void>((done) =>
      client.once('close', () => {
        // A code the error classifier maps to "unreachable" (503): the Broker retries, the upload resumes.
        lost = Object.assign(new Error(`the connection to ${where} closed`), { code: 'ECONNRESET' });
        for (const reject of waiting) reject(lost);
        waiting.clear();
        done();
      }),
    );
    const request = <T>(run: (cb: SftpCallback<T>) => void) =>
      new Promise<T>((resolve, reject) => {
        if (lost) return reject(lost);
        waiting.add(reject);
        run((error, value) => {
          waiting.delete(reject);
          if (error) reject(error);
          else resolve(value);
        });
      });
    const fail = (error: unknown) => {
      client.end();
      if (presented && !pinned.has(presented)) {
        reject(
          new StorageError(
            'host-key-mismatch',
            `${where} presented host key ${presented}, which is not the pinned key ` +
              `(${[...pinned].join(', ')}); refusing to connect. If the server's key changed on purpose, ` +
              'update the pinned host key.',
            { cause: error },
          ),
        );
      } else {
        reject(classifyStorageError(error, `connecting to ${where}`));
      }
    };
    client.once('error', fail);
    client.once('ready', () => {
      client.sftp((error, sftp) => {
        if (error) return fail(error);
        client.removeListener('error', fail);
        // Later socket errors surface through the pending SFTP requests; keep them from crashing the process.
        client.on('error', () => {});
        const limit = (sftp as unknown as { _maxWriteLen?: number })._maxWriteLen;
        resolve({
          sftp,
          maxWriteBytes: typeof limit === 'number' && limit > 0 ? limit : FALLBACK_WRITE_BYTES,
          request,
          batched(issue) {
            corkThisTick();
            issue();
          },
          get lost() {
            return lost;
          },
          end: () => client.end(),
          closed,
        });
      });
    });
    client.connect({
      sock,
      host: config.host,
      port,
      username: config.username,
      privateKey: config.privateKey,
      passphrase: config.passphrase,
      readyTimeout: config.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      algorithms: { cipher: [...CIPHERS] },
      hostVerifier: (key: Buffer) => {
        presented = fingerprintOf(key);
        return pinned.has(presented);
      },
    });
  });
}
