import { HeapdumpError, PermanentError, TransientError } from '../../functions/lib/errors.ts';

export type StorageFailureReason =
  | 'permission-denied'
  | 'no-space'
  | 'authentication'
  | 'host-key-mismatch'
  | 'not-found'
  | 'integrity'
  | 'rejected';

/**
 * Storage refused the dump for a reason a retry will not fix. The handler reports it as `dump.failed`
 * and keeps the file in the pod, so an operator can fix the storage and try again.
 */
export class StorageError extends PermanentError {
  readonly kind = 'storage';
  constructor(
    readonly reason: StorageFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'REQUEST_SEND_ERROR',
]);
const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);
const SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** SFTP status codes (draft-ietf-secsh-filexfer-02), as ssh2 puts them in `error.code`. */
export const SFTP_STATUS = { NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4 } as const;

interface ErrorFields {
  code?: unknown;
  level?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

function fieldsOf(error: unknown): ErrorFields {
  return typeof error === 'object' && error !== null ? (error as ErrorFields) : {};
}

/**
 * Maps whatever a storage client threw to an error with a retry meaning: unreachable or overloaded →
 * TransientError (503, the Broker retries); refused for good → StorageError (422). `doing` says what
 * we were doing, e.g. `writing sftp://host/dumps/x.hprof.gz.partial`.
 */
export function classifyStorageError(error: unknown, doing: string): HeapdumpError {
  if (error instanceof HeapdumpError) return error;
  const { code, level, statusCode } = fieldsOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  const say = (what: string) => `${what} while ${doing}: ${detail}`;

  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) {
    return new TransientError(say('storage unreachable'), { cause: error });
  }
  if (level === 'client-socket' || level === 'client-timeout') {
    return new TransientError(say('storage connection failed'), { cause: error });
  }
  if (level === 'client-authentication') {
    return new StorageError(
      'authentication',
      say('storage rejected our credentials (check the private key and user)'),
      { cause: error },
    );
  }
  if ((typeof code === 'string' && PERMISSION_CODES.has(code)) || code === SFTP_STATUS.PERMISSION_DENIED) {
    return new StorageError('permission-denied', say('permission denied'), { cause: error });
  }
  if (code === 'ELOOP' || code === 'EISDIR') {
    return new StorageError('rejected', say('refusing a symlink or directory where a file belongs'), {
      cause: error,
    });
  }
  if (typeof code === 'string' && SPACE_CODES.has(code)) {
    return new StorageError('no-space', say('storage is full'), { cause: error });
  }
  if (code === SFTP_STATUS.FAILURE) {
    // OpenSSH's sftp-server reports ENOSPC/EDQUOT (and a few rarer errors) as a bare SSH_FX_FAILURE.
    return new StorageError('rejected', say('storage refused the write (full or over quota?)'), {
      cause: error,
    });
  }
  if (typeof statusCode === 'number') return classifyHttpStatus(statusCode, error, say);
  if (code === SFTP_STATUS.NO_SUCH_FILE || code === 'ENOENT' || code === 'ENOTDIR') {
    return new StorageError('not-found', say('path not found (does the configured root exist?)'), {
      cause: error,
    });
  }
  return new TransientError(say('storage failed'), { cause: error });
}

/** Azure's answer to a transactional checksum that does not match the body (Azurite words it differently). */
const CHECKSUM_MISMATCH = /^(Md5Mismatch|Crc64Mismatch)$|content-?md5 doesn't match|crc64 doesn't match/i;

function classifyHttpStatus(status: number, error: unknown, say: (what: string) => string): HeapdumpError {
  const { code, message } = fieldsOf(error);
  if (status === 400 && (CHECKSUM_MISMATCH.test(String(code)) || CHECKSUM_MISMATCH.test(String(message)))) {
    // The bytes were damaged on the way; storage refused them, and sending them again fixes it.
    return new TransientError(say('storage refused a block whose checksum did not match'), { cause: error });
  }
  if (status === 401 || status === 403) {
    return new StorageError(
      'authentication',
      say(`storage denied access (HTTP ${status}; check the account key, connection string or SAS token)`),
      { cause: error },
    );
  }
  if (status === 404) {
    return new StorageError('not-found', say('container not found (HTTP 404)'), { cause: error });
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new TransientError(say(`storage busy or down (HTTP ${status})`), { cause: error });
  }
  return new StorageError('rejected', say(`storage rejected the request (HTTP ${status})`), {
    cause: error,
  });
}
