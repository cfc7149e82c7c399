import { type CloudEvent, HTTP } from 'cloudevents';
import { TransientError } from '../lib/errors.ts';

export type PostToSink = (event: CloudEvent<unknown>) => Promise<void>;

/**
 * Posts a CloudEvent in binary mode to the sink a SinkBinding injects (K_SINK, the Broker's ingress).
 * The Broker propagates the W3C `traceparent` header, not the extension, so both are set. Anything but a
 * 2xx is an outage: 503, so the event that caused this post is retried.
 */
export function createSinkPoster(sinkUrl: string, options: { timeoutMs?: number } = {}): PostToSink {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (event) => {
    const message = HTTP.binary(event);
    const headers = { ...(message.headers as Record<string, string>) };
    if (typeof event.traceparent === 'string') headers.traceparent = event.traceparent;
    if (typeof event.tracestate === 'string') headers.tracestate = event.tracestate;
    let response: Response;
    try {
      response = await fetch(sinkUrl, {
        method: 'POST',
        headers,
        body: message.body as string,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
    } catch (error) {
      const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new TransientError(`cannot post ${event.type} to the sink ${sinkUrl}: ${reason}`, {
        cause: error,
      });
    }
    if (!response.ok) {
      throw new TransientError(`the sink ${sinkUrl} refused ${event.type} ${event.id}: ${response.status}`);
    }
  };
}
