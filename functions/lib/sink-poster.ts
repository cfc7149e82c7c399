import { readFileSync } from 'node:fs';
import { type CloudEvent, HTTP } from 'cloudevents';
import { z } from 'zod';
import { TransientError } from './errors.ts';

export type PostToSink = (event: CloudEvent<unknown>) => Promise<void>;

/**
 * Posts a CloudEvent in binary mode to the sink a SinkBinding injects (K_SINK, the Broker's ingress).
 * The Broker propagates the W3C `traceparent` header, not the extension, so both are set. Anything but a
 * 2xx is an outage: 503, so the event that caused this post is retried.
 */
/**
 * Where a SinkBinding mounts the OIDC token for its sink's audience when Knative's authentication-oidc
 * is on (knative/eventing pkg/apis/sources/v1/sinkbinding_lifecycle.go); the controller renews it.
 */
export const SINK_TOKEN_FILE = '/oidc/token';

function bearerFrom(file: string): string | undefined {
  try {
    const token = readFileSync(file, 'utf8').trim();
    return token ? `Bearer ${token}` : undefined;
  } catch {
    return undefined; // no token mounted: OIDC is off
  }
}

export function createSinkPoster(
  sinkUrl: string | undefined,
  options: { timeoutMs?: number; binding?: string; tokenFile?: string } = {},
): PostToSink {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const tokenFile = options.tokenFile ?? SINK_TOKEN_FILE;
  return async (event) => {
    if (!sinkUrl) {
      throw new TransientError(
        `cannot post ${event.type}: K_SINK is not set, the SinkBinding ${options.binding ?? ''} has not bound ` +
          `this function yet (kubectl apply -k eventing/; kubectl -n heapdump get sinkbindings)`,
      );
    }
    const message = HTTP.binary(event);
    const headers = { ...(message.headers as Record<string, string>) };
    if (typeof event.traceparent === 'string') headers.traceparent = event.traceparent;
    if (typeof event.tracestate === 'string') headers.tracestate = event.tracestate;
    // Read for every post: the token is renewed in place, and a Broker that checks tokens answers 401 without.
    const authorization = bearerFrom(tokenFile);
    if (authorization) headers.authorization = authorization;
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

/**
 * K_SINK arrives with the SinkBinding, applied after the functions are deployed: a function starts and
 * passes its probes without it, and a request that needs it answers 503 until it is there.
 */
export const sinkConfig = z.object({
  K_SINK: z.url().optional(),
  HEAPDUMP_SINK_TIMEOUT_SECONDS: z.coerce.number().positive().default(10),
});

/** The poster for a function's K_SINK; `binding` is the SinkBinding that injects it (the function's name). */
export function sinkPosterFromConfig(env: z.infer<typeof sinkConfig>, binding: string): PostToSink {
  return createSinkPoster(env.K_SINK, { timeoutMs: env.HEAPDUMP_SINK_TIMEOUT_SECONDS * 1000, binding });
}
