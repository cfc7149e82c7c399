import { randomBytes } from 'node:crypto';

/** W3C trace context: `00-<trace id>-<parent span id>-<flags>`. */
const TRACEPARENT = /^00-([a-f0-9]{32})-([a-f0-9]{16})-([a-f0-9]{2})$/;

export type RandomHex = (bytes: number) => string;
export const randomHex: RandomHex = (bytes) => randomBytes(bytes).toString('hex');

export function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && TRACEPARENT.test(value) && !/^0+$/.test(value.split('-')[1]!);
}

export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent && isTraceparent(traceparent) ? traceparent.split('-')[1] : undefined;
}

/** The effect's traceparent: same trace as the cause, a new span; a new trace when there is no cause. */
export function childTraceparent(parent: unknown, random: RandomHex = randomHex): string {
  const match = isTraceparent(parent) ? TRACEPARENT.exec(parent) : null;
  const traceId = match ? match[1] : random(16);
  const flags = match ? match[3] : '01';
  return `00-${traceId}-${random(8)}-${flags}`;
}

/** The Broker propagates the HTTP header; the extension is only carried along. The header wins. */
export function incomingTraceparent(
  headers: Record<string, string | string[] | undefined> | undefined,
  event: { traceparent?: unknown } | undefined,
): string | undefined {
  const header = headers?.traceparent;
  const value = Array.isArray(header) ? header[0] : header;
  if (isTraceparent(value)) return value;
  return isTraceparent(event?.traceparent) ? event.traceparent : undefined;
}

// W3C trace context, tracestate: up to 32 `key=value` members, 512 characters at most; a key is a
// lowercase name, optionally `tenant@system`; a value is printable ASCII without `,` and `=`.
const TRACESTATE_MEMBER =
  /^[a-z0-9][_0-9a-z\-*/]{0,240}(@[a-z][_0-9a-z\-*/]{0,13})?=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

export function isTracestate(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 512) return false;
  const members = value.split(',').map((member) => member.trim());
  return members.length <= 32 && members.every((member) => TRACESTATE_MEMBER.test(member));
}
