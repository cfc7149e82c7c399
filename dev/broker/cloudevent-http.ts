import { types } from 'node:util';
import { CloudEvent, type CloudEventV1, HTTP, ValidationError } from 'cloudevents';

export type Event = CloudEvent<unknown>;
export type HeaderMap = Record<string, string | string[] | undefined>;

const CONTEXT_ATTRIBUTES = new Set([
  'id',
  'time',
  'type',
  'source',
  'specversion',
  'datacontenttype',
  'subject',
  'datacontentencoding',
  'dataschema',
  'data_base64',
  'schemaurl',
  'data',
]);

/**
 * True when a message carries a CloudEvent encoding, as the Go SDK's ReadEncoding decides: a `ce-specversion`
 * header (binary) or an `application/cloudevents` content type (structured).
 */
export function hasEventEncoding(headers: HeaderMap): boolean {
  const contentType = String(headers['content-type'] ?? '').toLowerCase();
  return headers['ce-specversion'] !== undefined || contentType.startsWith('application/cloudevents');
}

/** The CloudEvent in an HTTP message (binary or structured); a ValidationError when there is none. */
export function eventFromMessage(headers: HeaderMap, body: Buffer): Event {
  const contentType = String(headers['content-type'] ?? '');
  const isText = contentType === '' || /json|text|xml/i.test(contentType);
  const payload = body.length === 0 ? undefined : isText ? body.toString('utf8') : body;
  let parsed: CloudEventV1<unknown> | CloudEventV1<unknown>[];
  try {
    parsed = HTTP.toEvent({ headers, body: payload });
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`not a CloudEvent: ${(error as Error).message}`);
  }
  if (Array.isArray(parsed)) throw new ValidationError('a batch of CloudEvents is not accepted');
  const event = parsed as Event;
  event.validate();
  // The SDK turns structured `data_base64` into a Uint32Array of byte values; bytes travel as a Buffer.
  return types.isTypedArray(event.data) && !Buffer.isBuffer(event.data)
    ? withAttributes(event, { data: Buffer.from(Array.from(event.data as Uint32Array)) })
    : event;
}

/** The same event with attributes set, or removed where the value is undefined. */
export function withAttributes(event: Event, changes: Record<string, unknown>): Event {
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries({ ...event, ...changes })) {
    if (value !== undefined) attributes[name] = value;
  }
  return new CloudEvent(attributes as unknown as CloudEventV1<unknown>, false);
}

export function extensionsOf(event: Event): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries({ ...event }).filter(
      ([name, value]) => !CONTEXT_ATTRIBUTES.has(name) && value !== undefined,
    ),
  );
}

/** The event as a binary-mode HTTP request (headers and body), as Knative dispatches it. */
export function binaryMessage(event: Event): {
  headers: Record<string, string>;
  body: string | Buffer | undefined;
} {
  const message = HTTP.binary(event);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers[name] = String(value);
  }
  const body = message.body;
  if (body === undefined || body === null) return { headers, body: undefined };
  if (typeof body === 'string' || Buffer.isBuffer(body)) return { headers, body };
  return { headers, body: types.isTypedArray(body) ? Buffer.from(body as Uint8Array) : String(body) };
}
