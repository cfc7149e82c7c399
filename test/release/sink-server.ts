import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudEvent, HTTP } from 'cloudevents';

export interface Posted {
  headers: IncomingHttpHeaders;
  event: CloudEvent<unknown>;
}

/**
 * A stand-in for the Broker's ingress behind K_SINK: a loopback HTTP server that keeps every CloudEvent posted
 * to it and answers 202, or the status a test sets (503 for an ingress that is down).
 */
export async function startSink() {
  const posted: Posted[] = [];
  const refused: Posted[] = [];
  let status = 202;
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    const event = HTTP.toEvent({ headers: request.headers, body }) as CloudEvent;
    (status < 300 ? posted : refused).push({ headers: request.headers, event });
    response.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    /** What it accepted. */
    posted,
    /** What it answered with an error status. */
    refused,
    /** The status every later post is answered with. */
    answer(next: number) {
      status = next;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type Sink = Awaited<ReturnType<typeof startSink>>;
