import { performance } from 'node:perf_hooks';
import type { HeaderMap } from './cloudevent-http.ts';

export type Exchange =
  | { kind: 'response'; status: number; headers: HeaderMap; body: Buffer; durationMs: number }
  | { kind: 'error'; error: string; timedOut: boolean; durationMs: number };

export interface PostOptions {
  /** Covers the whole exchange, body included, like Go's http.Client.Timeout that Knative sets per attempt. */
  timeoutMs?: number;
  signal: AbortSignal;
}

/** One HTTP POST; never throws: a transport failure or timeout comes back as an `error` exchange. */
export async function post(
  url: string,
  message: { headers: Record<string, string>; body: string | Buffer | undefined },
  { timeoutMs, signal }: PostOptions,
): Promise<Exchange> {
  const started = performance.now();
  const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const signals = timeout ? AbortSignal.any([signal, timeout]) : signal;
  const elapsed = () => Math.round((performance.now() - started) * 1000) / 1000;
  try {
    const body = Buffer.isBuffer(message.body) ? new Uint8Array(message.body) : message.body;
    const response = await fetch(url, { method: 'POST', headers: message.headers, body, signal: signals });
    const answer = Buffer.from(await response.arrayBuffer());
    const headers = Object.fromEntries(response.headers);
    return { kind: 'response', status: response.status, headers, body: answer, durationMs: elapsed() };
  } catch (error) {
    const timedOut = timeout?.aborted === true && !signal.aborted;
    const reason = timedOut ? `timed out after ${timeoutMs} ms` : describeError(error);
    return { kind: 'error', error: reason, timedOut, durationMs: elapsed() };
  }
}

function describeError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}: ${cause.message ?? ''}`.trim();
  return (error as Error).message ?? String(error);
}
