import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { childTraceparent } from '../../functions/lib/events/trace.ts';
import {
  binaryMessage,
  type Event,
  eventFromMessage,
  hasEventEncoding,
  withAttributes,
} from './cloudevent-http.ts';
import {
  backoffMs,
  type ErrorExtensions,
  errorExtensions,
  isRetryable,
  isSuccess,
} from './delivery-policy.ts';
import { type Exchange, post } from './sender.ts';
import type { HopKind, Trace } from './trace.ts';
import type { Destination, Trigger } from './triggers.ts';

export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/** An event that passed ingress: with its Broker TTL, its trace context, and when it arrived. */
export interface Accepted {
  event: Event;
  context: TraceContext;
  acceptedAt: number;
}

export type PublishResult = { accepted: true } | { accepted: false; status: number };

export interface DispatcherDeps {
  resolve(destination: Destination, namespace: string): string | undefined;
  trace: Trace;
  /** Ingress for replies: the reply keeps the delivered event's TTL and is decremented there. */
  publishReply(reply: Event, context: TraceContext): PublishResult;
  brokerUrl(): string;
  signal: AbortSignal;
}

type Verdict =
  | { ok: true; status: number; reply?: Event }
  | { ok: false; status?: number; error: string; extensions?: ErrorExtensions };

type Failure = Extract<Verdict, { ok: false }> & { attempts: number };
type Sent = { ok: true; reply?: Event; context: TraceContext } | Failure;

/**
 * Delivers one accepted event to one Trigger's subscriber as the MT channel-based Broker does: binary mode,
 * retries and backoff from the Trigger's delivery, a reply published back into the Broker, and after the last
 * failure the original event to the dead-letter sink (whose own reply is dropped).
 */
export function createDispatcher(deps: DispatcherDeps) {
  const { trace, signal } = deps;

  async function sendWithRetries(
    hop: Extract<HopKind, 'attempt' | 'dead-letter'>,
    url: string,
    event: Event,
    trigger: Trigger,
    accepted: Accepted,
    extraHeaders: Record<string, string>,
  ): Promise<Sent> {
    const { delivery } = trigger;
    for (let attempt = 1; ; attempt++) {
      // Each attempt is a new client span of the same trace, as Knative's dispatcher makes one.
      const context = { ...accepted.context, traceparent: childTraceparent(accepted.context.traceparent) };
      const message = binaryMessage(event);
      const sentAt = performance.now();
      const exchange = await post(
        url,
        { headers: { ...message.headers, ...extraHeaders, ...traceHeaders(context) }, body: message.body },
        { timeoutMs: delivery.timeoutMs, signal },
      );
      if (signal.aborted) throw signal.reason;
      const verdict = judge(url, exchange);
      const retries = !verdict.ok && isRetryable(verdict.status) && attempt <= delivery.retry;
      const retryInMs = retries ? backoffMs(delivery, attempt) : undefined;
      trace.record(hop, event, {
        trigger: trigger.name,
        subscriber: url,
        attempt,
        status: verdict.status,
        durationMs: exchange.durationMs,
        error: verdict.ok ? undefined : verdict.error,
        traceparent: context.traceparent,
        queuedMs: hop === 'attempt' ? round(sentAt - accepted.acceptedAt) : undefined,
        retryInMs,
      });
      if (verdict.ok) return { ok: true, reply: verdict.reply, context };
      if (retryInMs === undefined) return { ...verdict, attempts: attempt };
      await sleep(retryInMs, undefined, { signal });
    }
  }

  async function deadLetter(trigger: Trigger, accepted: Accepted, failure: Failure): Promise<void> {
    const { event } = accepted;
    const why = `${failure.error} after ${failure.attempts} attempt(s)`;
    const sink = trigger.delivery.deadLetterSink;
    const url = sink && deps.resolve(sink, trigger.namespace);
    if (!url) {
      const error = sink
        ? `${why}; dead-letter sink ${describe(sink)} is not resolved`
        : `${why}; no deadLetterSink`;
      trace.record('dropped', event, { trigger: trigger.name, status: failure.status, error });
      return;
    }
    const dead = withAttributes(event, { ...failure.extensions });
    const sent = await sendWithRetries('dead-letter', url, dead, trigger, accepted, {});
    if (!sent.ok) {
      const error = `${why}; dead-letter sink failed too: ${sent.error}`;
      trace.record('dropped', event, { trigger: trigger.name, subscriber: url, status: sent.status, error });
    }
  }

  async function deliverOrThrow(trigger: Trigger, accepted: Accepted): Promise<void> {
    const { event } = accepted;
    const subscriber = deps.resolve(trigger.subscriber, trigger.namespace);
    if (!subscriber) {
      const error = `subscriber ${describe(trigger.subscriber)} is not resolved`;
      trace.record('dropped', event, { trigger: trigger.name, error });
      return;
    }
    // The TTL is the Broker's business: subscribers never see it, replies get it back unchanged.
    const toSubscriber = withAttributes(event, { knativebrokerttl: undefined });
    const sent = await sendWithRetries('attempt', subscriber, toSubscriber, trigger, accepted, {
      prefer: 'reply',
    });
    if (!sent.ok) return deadLetter(trigger, accepted, sent);
    if (!sent.reply) return;
    const reply = withAttributes(sent.reply, { knativebrokerttl: event.knativebrokerttl });
    trace.record('reply', reply, {
      trigger: trigger.name,
      subscriber,
      causeId: event.id,
      traceparent: sent.context.traceparent,
    });
    const published = deps.publishReply(reply, sent.context);
    if (published.accepted) return;
    // A reply the ingress refuses (TTL spent) fails the delivery: Knative dead-letters the original event.
    const extensions = errorExtensions(deps.brokerUrl(), published.status, Buffer.alloc(0));
    const error = `reply ${reply.id} refused by Broker ingress with ${published.status}`;
    return deadLetter(trigger, accepted, {
      ok: false,
      status: published.status,
      error,
      extensions,
      attempts: 1,
    });
  }

  return {
    async deliver(trigger: Trigger, accepted: Accepted): Promise<void> {
      try {
        await deliverOrThrow(trigger, accepted);
      } catch (error) {
        if (signal.aborted) return;
        trace.record('dropped', accepted.event, {
          trigger: trigger.name,
          error: `broker error: ${String(error)}`,
        });
      }
    },
  };
}

/**
 * What the Broker makes of one exchange. Knative's broker-filter reports the subscriber's status and body back
 * to the channel, which turns them into knativeerror* extensions; a transport failure counts as 500 with body
 * "dispatch error: …". A per-attempt timeout, or a 2xx body that is not a CloudEvent (answered 502 with an
 * empty body by broker-filter), leaves the channel nothing to read, so those dead letters carry no extensions.
 */
function judge(url: string, exchange: Exchange): Verdict {
  if (exchange.kind === 'error') {
    if (exchange.timedOut) return { ok: false, error: exchange.error };
    const body = Buffer.from(`dispatch error: ${exchange.error}`);
    return { ok: false, error: exchange.error, extensions: errorExtensions(url, 500, body) };
  }
  const { status, headers, body } = exchange;
  if (!isSuccess(status)) {
    const error = `status ${status}${body.length ? `: ${body.toString('utf8', 0, 200)}` : ''}`;
    return { ok: false, status, error, extensions: errorExtensions(url, status, body) };
  }
  if (!hasEventEncoding(headers)) {
    if (body.length === 0) return { ok: true, status };
    return {
      ok: false,
      status: 502,
      error: `answered ${status} with a body that is not a CloudEvent (counted as 502)`,
    };
  }
  try {
    return { ok: true, status, reply: eventFromMessage(headers, body) };
  } catch (error) {
    const reason = (error as Error).message;
    return {
      ok: false,
      status: 502,
      error: `answered ${status} with an invalid CloudEvent (counted as 502): ${reason}`,
    };
  }
}

function traceHeaders(context: TraceContext): Record<string, string> {
  return {
    traceparent: context.traceparent,
    ...(context.tracestate ? { tracestate: context.tracestate } : {}),
  };
}

function describe(destination: Destination): string {
  return destination.ref ? `${destination.ref.kind}/${destination.ref.name}` : (destination.uri ?? '(empty)');
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
