import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { childTraceparent, incomingTraceparent } from '../../functions/lib/events/trace.ts';
import { type Event, eventFromMessage, withAttributes } from './cloudevent-http.ts';
import type { Accepted, PublishResult, TraceContext } from './dispatcher.ts';
import { matchesFilter } from './filter.ts';
import type { Trace } from './trace.ts';
import type { Trigger } from './triggers.ts';

export const DEFAULT_TTL = 255;

/**
 * Knative's TTLDefaulter (pkg/broker/ttl.go): an event without `knativebrokerttl` (or with one that is not an
 * integer) gets 255; otherwise it is lowered by one, never below 0. Ingress refuses the event at 0.
 */
export function nextTtl(current: unknown): number {
  const value = typeof current === 'string' && current.trim() !== '' ? Number(current) : current;
  if (typeof value !== 'number' || !Number.isInteger(value)) return DEFAULT_TTL;
  return Math.max(value - 1, 0);
}

export interface IngressDeps {
  triggers: readonly Trigger[];
  trace: Trace;
  deliver(trigger: Trigger, accepted: Accepted): Promise<void>;
  /** Deliveries are tracked so the Broker knows when it is idle. */
  track(delivery: Promise<void>): void;
}

export function createIngress({ triggers, trace, deliver, track }: IngressDeps) {
  /** One pass through ingress: TTL, trace, and a delivery started for every Trigger whose filter matches. */
  function publish(event: Event, context: Partial<TraceContext>): PublishResult {
    const ttl = nextTtl(event.knativebrokerttl);
    const traceparent = context.traceparent ?? childTraceparent(undefined);
    if (ttl <= 0) {
      trace.record('dropped', event, { traceparent, status: 400, ttl, error: 'knativebrokerttl exhausted' });
      return { accepted: false, status: 400 };
    }
    const stamped = withAttributes(event, {
      knativebrokerttl: ttl,
      knativearrivaltime: new Date().toISOString(),
    });
    const accepted: Accepted = {
      event: stamped,
      context: { traceparent, ...(context.tracestate ? { tracestate: context.tracestate } : {}) },
      acceptedAt: performance.now(),
    };
    trace.record('ingress', stamped, { traceparent, status: 202, ttl });
    // The filter sees the event without its TTL, as broker-filter removes it before filtering.
    const filtered = withAttributes(stamped, { knativebrokerttl: undefined });
    for (const trigger of triggers) {
      if (matchesFilter(trigger.filter, filtered)) track(deliver(trigger, accepted));
    }
    return { accepted: true };
  }

  /** HTTP ingress: POST a CloudEvent (binary or structured) → 202; anything else → 400 with the reason. */
  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.setHeader('allow', 'POST, OPTIONS');
    if (request.method === 'OPTIONS') {
      response.writeHead(200, { 'webhook-allowed-origin': '*', 'webhook-allowed-rate': '*' }).end();
      return;
    }
    if (request.method !== 'POST') {
      response.writeHead(405).end();
      return;
    }
    const body = await readBody(request);
    let event: Event;
    try {
      event = eventFromMessage(request.headers, body);
      // The chain speaks CloudEvents 1.0 only; the SDK would take any specversion it is given.
      if (event.specversion !== '1.0') throw new Error(`specversion ${String(event.specversion)} is not 1.0`);
    } catch (error) {
      response
        .writeHead(400, { 'content-type': 'text/plain' })
        .end(`not a valid CloudEvent: ${describe(error)}\n`);
      return;
    }
    const traceparent = incomingTraceparent(request.headers, event as { traceparent?: unknown });
    const tracestate = headerValue(request.headers.tracestate) ?? stringOrUndefined(event.tracestate);
    const result = publish(event, { traceparent, tracestate });
    response.writeHead(result.accepted ? 202 : result.status).end();
  }

  return { publish, handle };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function describe(error: unknown): string {
  const details = (error as { errors?: unknown }).errors;
  const message = (error as Error).message ?? String(error);
  return details ? `${message} ${JSON.stringify(details)}` : message;
}

const headerValue = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
const stringOrUndefined = (value: unknown) => (typeof value === 'string' ? value : undefined);
