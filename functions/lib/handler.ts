import type { CloudEvent } from 'cloudevents';
import { toHttpError } from './errors.ts';
import type { AnyCloudEvent } from './events/index.ts';
import { type Logger, logFor } from './log.ts';

/** The part of faas-js-runtime's Context a handler reads. */
export interface FunctionContext {
  headers?: Record<string, string | string[] | undefined>;
  log?: unknown;
}

/** A CloudEvent function: the returned event is the reply the Broker publishes; undefined answers 204. */
export type Handler = (
  ctx: FunctionContext,
  event: AnyCloudEvent,
) => Promise<CloudEvent<unknown> | undefined>;

/**
 * Wraps a handler so every failure leaves as an error with a numeric HTTP `code` (faas-js-runtime reads
 * that field) and is logged once with the dump and trace it belongs to.
 */
export function withErrorMapping(handler: Handler, log: Logger): Handler {
  return async (ctx, event) => {
    const started = Date.now();
    const eventLog = logFor(log, event as Parameters<typeof logFor>[1]);
    try {
      const reply = await handler(ctx, event);
      eventLog.info({ reply: reply?.type, ms: Date.now() - started }, 'handled');
      return reply;
    } catch (error) {
      const mapped = toHttpError(error);
      const level = mapped.code >= 500 ? 'warn' : 'info';
      eventLog[level]({ status: mapped.code, err: error, ms: Date.now() - started }, mapped.message);
      throw mapped;
    }
  };
}
