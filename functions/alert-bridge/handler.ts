import { createHash, timingSafeEqual } from 'node:crypto';
import { mapOrdered } from '../../adapters/pipeline/ordered-map.ts';
import { BadRequestError, TransientError, UnauthorizedError } from '../lib/errors.ts';
import { type EventFactory, EventTypes } from '../lib/events/index.ts';
import type { FunctionContext } from '../lib/handler.ts';
import type { Logger } from '../lib/log.ts';
import type { PostToSink } from '../lib/sink-poster.ts';
import { type Dropped, parseWebhook, sortAlerts } from './webhook.ts';

export interface AlertBridgeDeps {
  /** The bearer token Alertmanager sends (`http_config.authorization.credentials`). */
  token: string;
  events: EventFactory;
  /** Posts to K_SINK, the Broker (a SinkBinding sets it). */
  postToSink: PostToSink;
  log: Logger;
}

export interface Summary {
  forwarded: number;
  dropped: Dropped;
}

/** An HTTP function, not a CloudEvent one: Alertmanager calls it, and it answers with a JSON summary. */
export type AlertBridge = (
  ctx: FunctionContext & { cloudevent?: unknown },
  body: unknown,
) => Promise<Summary>;

const POST_CONCURRENCY = 8;

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Turns an Alertmanager webhook into one dev.heapdump.alert.firing per firing alert that names a pod.
 * Event ids are `<fingerprint>:<startsAt>`, so Alertmanager's repeats are the same events downstream.
 * If the sink cannot take them all, 503 makes Alertmanager send the whole group again.
 */
export function createAlertBridge(deps: AlertBridgeDeps): AlertBridge {
  const expected = digest(`Bearer ${deps.token}`);
  return async (ctx, body) => {
    const header = ctx.headers?.authorization;
    const presented = Array.isArray(header) ? header[0] : header;
    // Comparing digests keeps the comparison constant-time whatever the presented length.
    if (!presented || !timingSafeEqual(digest(presented), expected)) throw new UnauthorizedError();
    if (ctx.cloudevent) {
      throw new BadRequestError('alert-bridge takes Alertmanager webhooks (plain JSON), not CloudEvents');
    }
    const webhook = parseWebhook(body);
    const sorted = sortAlerts(webhook);
    if (sorted.problems.length > 0) {
      deps.log.warn({ problems: sorted.problems.slice(0, 10) }, 'dropped alerts with invalid labels');
    }
    const events = sorted.firing.map(({ id, data }) => deps.events(EventTypes.alertFiring, data, { id }));
    // A webhook may carry hundreds of alerts: a few posts at a time, each one tried, failures collected.
    const failed: Error[] = [];
    const attempts = mapOrdered(iterate(events), POST_CONCURRENCY, (event) =>
      deps.postToSink(event).then(
        () => undefined,
        (error: Error) => error,
      ),
    );
    for await (const error of attempts) if (error) failed.push(error);
    if (failed.length > 0) {
      throw new TransientError(
        `${failed.length} of ${events.length} alerts could not be forwarded: ${failed[0]!.message}`,
      );
    }
    const summary = { forwarded: events.length, dropped: sorted.dropped };
    deps.log.info({ receiver: webhook.receiver, groupKey: webhook.groupKey, ...summary }, 'alerts forwarded');
    return summary;
  };
}
