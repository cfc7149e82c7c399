import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CloudEvent, type CloudEventV1, HTTP } from 'cloudevents';

/** One request a test service received. */
export interface Received {
  service: string;
  path: string;
  /** performance.now() when the request arrived. */
  at: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  event?: CloudEvent<unknown>;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  delayMs?: number;
}

/** How a service answers; `count` is how many requests it has had, this one included. */
export type Behaviour = (request: Received, count: number) => Answer | Promise<Answer>;

/**
 * Knative Services stand-ins: one loopback HTTP server, one path per service name (`/<name>`), each answering
 * by its behaviour and recording what it received. A path that names no service answers 404.
 */
export async function startServices(behaviours: Record<string, Behaviour>) {
  const received: Received[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = request.url ?? '/';
    const service = path.split('/')[1] ?? '';
    const record: Received = {
      service,
      path,
      at: performance.now(),
      headers: request.headers,
      body: Buffer.concat(chunks),
    };
    try {
      record.event = HTTP.toEvent({
        headers: request.headers,
        body: record.body.toString(),
      }) as CloudEvent<unknown>;
    } catch {
      // Not every request is a CloudEvent; the test looks at the raw body then.
    }
    received.push(record);
    const behaviour = behaviours[service];
    const answer = behaviour
      ? await behaviour(record, received.filter((r) => r.service === service).length)
      : { status: 404 };
    if (answer.delayMs) await sleep(answer.delayMs);
    if (response.destroyed) return;
    response.writeHead(answer.status, answer.headers).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (name: string) => `${base}/${name}`,
    /** Resolves every behaviour's name, plus any extra names given (e.g. one pointing at a closed port). */
    resolver: (extra: Record<string, string> = {}) => ({
      ...Object.fromEntries(Object.keys(behaviours).map((name) => [name, `${base}/${name}`])),
      ...extra,
    }),
    of: (service: string) => received.filter((r) => r.service === service),
    reset: () => void received.splice(0),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Services = Awaited<ReturnType<typeof startServices>>;

/** A 200 answer carrying `event` in binary mode. */
export function replyWith(event: CloudEventV1<unknown>): Answer {
  const message = HTTP.binary(event);
  return { status: 200, headers: stringHeaders(message.headers), body: message.body as string };
}

/** A 200 answer carrying `event` in structured mode. */
export function structuredReplyWith(event: CloudEventV1<unknown>): Answer {
  const message = HTTP.structured(event);
  return { status: 200, headers: stringHeaders(message.headers), body: message.body as string };
}

export async function postEvent(
  url: string,
  event: CloudEventV1<unknown>,
  {
    mode = 'binary',
    headers = {},
  }: { mode?: 'binary' | 'structured'; headers?: Record<string, string> } = {},
): Promise<Response> {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  return fetch(url, {
    method: 'POST',
    headers: { ...stringHeaders(message.headers), ...headers },
    body: message.body as string,
  });
}

function stringHeaders(headers: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
}

/** Milliseconds between consecutive requests. */
export const gaps = (requests: Received[]) => requests.slice(1).map((r, i) => r.at - requests[i]!.at);
