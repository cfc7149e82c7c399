import type { Delivery } from './triggers.ts';

/**
 * Knative's retry rule (knative/eventing pkg/kncloudevents/retries.go, SelectiveRetry): no answer, transport
 * errors, 5xx, 404, 408, 409 and 429 are retried; 3xx and every other 4xx are not.
 */
export function isRetryable(status: number | undefined): boolean {
  if (status === undefined) return true;
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

export const isSuccess = (status: number) => status >= 200 && status < 300;

/**
 * The wait before retry number `retry` (1-based). Knative's backoff is `delay * n` (linear) or `delay * 2^n`
 * (exponential), and go-retryablehttp calls it with the 0-based index of the attempt that just failed,
 * so n = retry - 1: linear waits 0, d, 2d, …; exponential waits d, 2d, 4d, ….
 */
export function backoffMs(delivery: Delivery, retry: number): number {
  const delay = delivery.backoffDelayMs;
  if (!delivery.backoffPolicy || delay === undefined) return 0;
  const n = retry - 1;
  return delivery.backoffPolicy === 'linear' ? delay * n : delay * 2 ** n;
}

/** knativeerrordata holds at most this many characters of base64 (attributes.KnativeErrorDataExtensionMaxLength). */
export const ERROR_DATA_MAX = 1024;

export interface ErrorExtensions {
  knativeerrordest: string;
  knativeerrorcode: number;
  knativeerrordata: string;
}

/** What a dead-lettered event gains: where it failed, the status, and the base64 body cut at 1024 characters. */
export function errorExtensions(destination: string, status: number, body: Buffer): ErrorExtensions {
  return {
    knativeerrordest: destination,
    knativeerrorcode: status,
    knativeerrordata: body.toString('base64').slice(0, ERROR_DATA_MAX),
  };
}
