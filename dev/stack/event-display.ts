import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CloudEventV1, HTTP } from 'cloudevents';
import type { Trigger } from '../broker/index.ts';

export type SeenEvent = CloudEventV1<Record<string, unknown>> & { dumpid?: string };

export interface EventDisplay {
  url: string;
  /** Every event the Broker delivered to it, in arrival order. */
  events(): SeenEvent[];
  /** Resolves with the first matching event among those from index `after` on (default 0), now or later. */
  waitFor(
    match: (event: SeenEvent) => boolean,
    options: { timeoutMs: number; what?: string; after?: number },
  ): Promise<SeenEvent>;
  close(): Promise<void>;
}

export const EVENT_DISPLAY = 'event-display';

/**
 * Knative's `event-display` sample service: a subscriber that accepts every event and keeps it, so the
 * demo and the end-to-end tests can see what flowed through the Broker, data included. It answers 204
 * (no reply), so it adds nothing to the chain.
 */
export async function startEventDisplay(): Promise<EventDisplay> {
  const seen: SeenEvent[] = [];
  const waiters = new Set<(event: SeenEvent) => void>();
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      const event = HTTP.toEvent({
        headers: request.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString(),
      }) as SeenEvent;
      seen.push(event);
      for (const waiter of waiters) waiter(event);
      response.writeHead(204).end();
    } catch (error) {
      response.writeHead(400).end(String(error));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    events: () => [...seen],
    waitFor(match, { timeoutMs, what = 'an event', after = 0 }) {
      const found = seen.slice(after).find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = (event: SeenEvent) => {
          if (!match(event)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(event);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no ${what} within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A Trigger with no filter sending every event of the Broker to the event display. */
export function eventDisplayTrigger(namespace: string, broker: string): Trigger {
  return {
    name: EVENT_DISPLAY,
    namespace,
    broker,
    filter: {},
    subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: EVENT_DISPLAY } },
    delivery: { retry: 0 },
  };
}
