import { ZodError } from 'zod';

/**
 * Errors carry their retry meaning for the Knative Broker, which retries 5xx, 404, 408, 409, 429 and
 * nothing else. faas-js-runtime takes the HTTP status from a numeric `code`, so every error we throw has one.
 */
export class HeapdumpError extends Error {
  readonly code: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = status;
  }
}

/** The request itself is malformed (not JSON, not a CloudEvent): never retried. */
export class BadRequestError extends HeapdumpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, message, options);
  }
}

/** Well-formed but cannot be acted upon (wrong field, unknown container): never retried. */
export class PermanentError extends HeapdumpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(422, message, options);
  }
}

/** A dependency is down or busy (Redis, storage, API server): the Broker retries with backoff. */
export class TransientError extends HeapdumpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, message, options);
  }
}

export class UnauthorizedError extends HeapdumpError {
  constructor(message = 'missing or invalid bearer token') {
    super(401, message);
  }
}

export class PayloadTooLargeError extends HeapdumpError {
  constructor(limitBytes: number) {
    super(413, `request body exceeds ${limitBytes} bytes`);
  }
}

/** Describes zod issues as `field.path: message; ...` so the sender knows what to fix. */
export function describeZodError(error: ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * The one mapper from anything thrown to an error with an HTTP status. Unknown errors become 503:
 * a bug or an outage we did not classify is safer retried than dropped.
 */
export function toHttpError(error: unknown): HeapdumpError {
  if (error instanceof HeapdumpError) return error;
  if (error instanceof ZodError) return new PermanentError(describeZodError(error), { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new TransientError(`unexpected failure, will be retried: ${message}`, { cause: error });
}

export function httpStatusOf(error: unknown): number {
  return toHttpError(error).code;
}
