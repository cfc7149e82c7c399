import { EventEmitter } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { traceIdOf } from '../../functions/lib/events/trace.ts';
import type { Event } from './cloudevent-http.ts';

export type HopKind = 'ingress' | 'attempt' | 'reply' | 'dead-letter' | 'dropped';

/** One hop of one event through the Broker; one JSON line in the trace file. */
export interface TraceEntry {
  ts: string;
  kind: HopKind;
  eventId: string;
  type: string;
  source: string;
  subject?: string;
  dumpid?: string;
  /** The traceparent of this hop: what came in (ingress) or what was sent (attempt, dead-letter). */
  traceparent?: string;
  traceId?: string;
  trigger?: string;
  /** The URL posted to: the subscriber, or the dead-letter sink. */
  subscriber?: string;
  /** 1 for the first try, 2 for the first retry, … */
  attempt?: number;
  status?: number;
  durationMs?: number;
  error?: string;
  /** reply: the id of the event it answers; dropped reply: the same. */
  causeId?: string;
  /** ingress: knativebrokerttl after this pass. */
  ttl?: number;
  /** attempt: milliseconds from the event's ingress to this request being sent (a warm hop's Broker cost). */
  queuedMs?: number;
  /** attempt, dead-letter: the backoff before the next try, when this failure is retried. */
  retryInMs?: number;
}

export type HopDetails = Omit<
  TraceEntry,
  'ts' | 'kind' | 'eventId' | 'type' | 'source' | 'subject' | 'dumpid' | 'traceId'
>;

export interface Trace {
  record(kind: HopKind, event: Event, details?: HopDetails): TraceEntry;
  /** The most recent entries, oldest first. */
  entries(): TraceEntry[];
  on(name: 'entry', listener: (entry: TraceEntry) => void): void;
  off(name: 'entry', listener: (entry: TraceEntry) => void): void;
  close(): Promise<void>;
}

export interface TraceOptions {
  /** JSON lines are appended here. */
  file?: string;
  /** How many entries `entries()` keeps. */
  capacity?: number;
  clock?: () => Date;
}

export function createTrace({ file, capacity = 10_000, clock = () => new Date() }: TraceOptions = {}): Trace {
  const emitter = new EventEmitter();
  const ring: TraceEntry[] = [];
  let stream: WriteStream | undefined;
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    stream = createWriteStream(file, { flags: 'a' });
  }
  return {
    record(kind, event, details = {}) {
      const traceparent = details.traceparent;
      const entry = dropUndefined({
        ts: clock().toISOString(),
        kind,
        eventId: event.id,
        type: event.type,
        source: event.source,
        subject: event.subject,
        dumpid: typeof event.dumpid === 'string' ? event.dumpid : undefined,
        ...details,
        traceId: traceIdOf(traceparent),
      });
      ring.push(entry);
      if (ring.length > capacity) ring.shift();
      stream?.write(`${JSON.stringify(entry)}\n`);
      emitter.emit('entry', entry);
      return entry;
    },
    entries: () => [...ring],
    on: (name, listener) => void emitter.on(name, listener),
    off: (name, listener) => void emitter.off(name, listener),
    close: () => new Promise<void>((resolve) => (stream ? stream.end(resolve) : resolve())),
  };
}

function dropUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
