import { createHash, randomUUID } from 'node:crypto';
import { CloudEvent, type CloudEventV1 } from 'cloudevents';
import { ZodError } from 'zod';
import { BadRequestError, describeZodError, PermanentError } from '../errors.ts';
import { dumpId as dumpIdSchema, subjectOf } from './names.ts';
import { type DataOf, type EventType, type InputOf, isEventType, schemas } from './schemas.ts';
import { childTraceparent, incomingTraceparent, isTracestate, type RandomHex, randomHex } from './trace.ts';

export * from './names.ts';
export * from './schemas.ts';
export * from './trace.ts';

export type AnyCloudEvent = CloudEventV1<unknown>;
export type Parsed<T extends EventType> = { [K in T]: { type: K; data: DataOf<K>; event: AnyCloudEvent } }[T];

export interface Randomness {
  uuid(): string;
  hex: RandomHex;
}
export const realRandomness: Randomness = { uuid: randomUUID, hex: randomHex };

export interface BuildOptions {
  /** The event that caused this one: its trace continues, and its identity makes this id stable. */
  cause?: AnyCloudEvent;
  /** The incoming traceparent when known from the HTTP header (it wins over the cause's extension). */
  traceparent?: string;
  /** An id given by the caller (alert ids are `<fingerprint>:<startsAt>`). */
  id?: string;
  subject?: string;
}

export type EventFactory = <T extends EventType>(
  type: T,
  data: InputOf<T>,
  options?: BuildOptions,
) => CloudEvent<DataOf<T>>;

/**
 * What a reply may copy from its cause, each checked against its spec: anyone can send the cause, and a
 * value that breaks a header (a newline) or our id format must not travel on. A subject is a Kubernetes
 * path or `<namespace>/<pod>/<container>`: visible ASCII, bounded.
 */
const copiedExtensions: Record<'tracestate' | 'dumpid' | 'subject', (value: unknown) => boolean> = {
  tracestate: isTracestate,
  dumpid: (value) => dumpIdSchema.safeParse(value).success,
  subject: (value) => typeof value === 'string' && /^[\x21-\x7e]{1,512}$/.test(value),
};

/**
 * Events are built only here. A reply caused by an event gets an id derived from the cause, so a retried
 * delivery produces the same reply id and CloudEvents dedupe (source + id) holds across the chain.
 */
export function createEventFactory(
  functionName: string,
  options: {
    random?: Randomness;
    clock?: () => Date;
    /** Told of every extension value of a cause that was dropped instead of copied. */
    warn?: (message: string, fields: Record<string, unknown>) => void;
  } = {},
): EventFactory {
  const source = `/heapdump/${functionName}`;
  const random = options.random ?? realRandomness;
  const clock = options.clock ?? (() => new Date());
  const fromCause = (cause: AnyCloudEvent | undefined, name: keyof typeof copiedExtensions) => {
    const value = cause?.[name];
    if (value === undefined) return undefined;
    if (copiedExtensions[name](value)) return value as string;
    options.warn?.(`dropped the cause's ${name}: it breaks its spec`, {
      source: cause?.source,
      id: cause?.id,
      [name]: String(value).slice(0, 100),
    });
    return undefined;
  };
  return (type, input, build = {}) => {
    let data: DataOf<typeof type>;
    try {
      data = schemas[type].parse(input) as DataOf<typeof type>;
    } catch (error) {
      // Our own constructor was handed bad data: a bug, reported with the field that is wrong.
      if (error instanceof ZodError) throw new Error(`cannot build ${type}: ${describeZodError(error)}`);
      throw error;
    }
    const cause = build.cause;
    const id =
      build.id ??
      (cause
        ? createHash('sha256').update(`${cause.source}\n${cause.id}\n${type}`).digest('hex').slice(0, 32)
        : random.uuid());
    const fields = (data ?? {}) as Record<string, unknown>;
    const dumpid = typeof fields.dumpId === 'string' ? fields.dumpId : fromCause(cause, 'dumpid');
    const tracestate = fromCause(cause, 'tracestate');
    const target = (fields.target ?? fields) as { namespace?: string; pod?: string; container?: string };
    const subject =
      build.subject ??
      (target.namespace && target.pod
        ? subjectOf(target as { namespace: string; pod: string })
        : fromCause(cause, 'subject'));
    return new CloudEvent<DataOf<typeof type>>({
      specversion: '1.0',
      id,
      type,
      source,
      subject,
      time: clock().toISOString(),
      datacontenttype: 'application/json',
      data,
      traceparent: childTraceparent(
        build.traceparent ?? incomingTraceparent(undefined, cause as { traceparent?: unknown } | undefined),
        random.hex,
      ),
      ...(tracestate ? { tracestate } : {}),
      ...(dumpid ? { dumpid } : {}),
    });
  };
}

function dataOf(event: AnyCloudEvent): unknown {
  const data =
    event.data ?? (event.data_base64 ? Buffer.from(event.data_base64, 'base64').toString() : undefined);
  if (typeof data !== 'string') return Buffer.isBuffer(data) ? parseJson(data.toString(), event) : data;
  return parseJson(data, event);
}

function parseJson(text: string, event: AnyCloudEvent): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError(`${event.type} ${event.id}: data is not valid JSON`);
  }
}

/** Parses an incoming event at the edge: its type must be one this handler accepts, its data its schema. */
export function parseEvent<T extends EventType>(event: AnyCloudEvent, accepted: readonly T[]): Parsed<T> {
  if (!event || typeof event.type !== 'string') throw new BadRequestError('not a CloudEvent: missing type');
  const type = event.type;
  if (!isEventType(type) || !(accepted as readonly string[]).includes(type)) {
    throw new PermanentError(
      `unsupported event type "${type}"; this function accepts ${accepted.join(', ')}`,
    );
  }
  const result = schemas[type].safeParse(dataOf(event));
  if (!result.success) {
    throw new PermanentError(`invalid ${type} data: ${describeZodError(result.error)}`);
  }
  return { type, data: result.data, event } as Parsed<T>;
}
