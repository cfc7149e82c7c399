import { ApiException } from '@kubernetes/client-node';
import { type HeapdumpError, PermanentError, TransientError } from '../../functions/lib/errors.ts';

/** An exec the API server refused before it started (the WebSocket upgrade answered with an HTTP error). */
export class ExecRefusedError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
    this.name = 'ExecRefusedError';
  }
}

/** The HTTP status of a failed API call, when the API server answered at all. */
export function httpStatusOfApiError(error: unknown): number | undefined {
  if (error instanceof ApiException) return error.code;
  if (error instanceof ExecRefusedError) return error.httpStatus;
  return undefined;
}

/**
 * The retry meaning of an API server failure: an outage, throttling or an expired token is retried (503);
 * a refusal that will not change by itself (RBAC, a wrong name) is permanent (422).
 */
export function toKubernetesError(error: unknown, action: string): HeapdumpError {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  const status = httpStatusOfApiError(error);
  const detail = detailOf(error);
  if (status === undefined)
    return new TransientError(`${action}: the Kubernetes API server is unreachable (${detail})`, {
      cause: error,
    });
  if (status === 401)
    return new TransientError(`${action}: the API server rejected the credentials (401: ${detail})`, {
      cause: error,
    });
  if (status === 403)
    return new PermanentError(
      `${action}: forbidden, grant the function's service account this in RBAC (${detail})`,
      {
        cause: error,
      },
    );
  if (status === 408 || status === 409 || status === 429 || status >= 500)
    return new TransientError(`${action}: the API server is busy or failing (${status}: ${detail})`, {
      cause: error,
    });
  return new PermanentError(`${action}: ${detail} (${status})`, { cause: error });
}

function detailOf(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as { message?: unknown } | string | undefined;
    if (typeof body === 'object' && typeof body?.message === 'string') return body.message;
    if (typeof body === 'string' && body) {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') return parsed.message;
      } catch {
        return body.slice(0, 200);
      }
    }
    return `HTTP ${error.code}`;
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  // ws reports connection failures as an ErrorEvent-like object carrying the error.
  const inner = (error as { error?: unknown; message?: unknown } | undefined)?.error;
  if (inner instanceof Error) return detailOf(inner);
  return String((error as { message?: unknown })?.message ?? error);
}
