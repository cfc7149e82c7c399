import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PodEvent, PodRegistry } from './pod-registry.ts';
import type { PodObject } from './pod-runtime.ts';
import type { Selector } from './selectors.ts';
import { badRequest, gone } from './status.ts';
import { type IncludeObject, podTable } from './table.ts';

export interface WatchOptions {
  matches: Selector;
  /** Absent or "0": start with the current pods as ADDED, as the API server does. */
  resourceVersion: string | null;
  timeoutSeconds: number | undefined;
  /** Server-side printing: every event's object is a one-row Table. */
  table?: IncludeObject;
}

/** Streams watch events as newline-delimited JSON on a chunked response until the client leaves or the timeout. */
export function serveWatch(
  registry: PodRegistry,
  request: IncomingMessage,
  response: ServerResponse,
  options: WatchOptions,
): void {
  const since = parseResourceVersion(options.resourceVersion);
  response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  response.flushHeaders();
  let headersSent = false;
  const toObject = (object: PodObject) => {
    if (!options.table) return object;
    const table = podTable(
      [object],
      String(object.metadata.resourceVersion),
      options.table,
      Date.now(),
      !headersSent,
    );
    headersSent = true;
    return table;
  };
  const send = (type: string, object: unknown) => response.write(`${JSON.stringify({ type, object })}\n`);
  const deliver = (event: PodEvent) => {
    if (options.matches(event.object)) send(event.type, toObject(event.object));
  };

  if (since === undefined) {
    for (const object of registry.list()) if (options.matches(object)) send('ADDED', toObject(object));
  } else {
    const missed = registry.eventsSince(since);
    if (!missed) {
      send('ERROR', gone(`too old resource version: ${since} (${registry.resourceVersion})`).status);
      response.end();
      return;
    }
    missed.forEach(deliver);
  }
  const unsubscribe = registry.subscribe(deliver);
  const timer =
    options.timeoutSeconds !== undefined
      ? setTimeout(() => response.end(), options.timeoutSeconds * 1000)
      : undefined;
  const finish = () => {
    unsubscribe();
    clearTimeout(timer);
  };
  request.once('close', finish);
  response.once('close', finish);
}

function parseResourceVersion(value: string | null): number | undefined {
  if (value === null || value === '' || value === '0') return undefined;
  if (!/^\d+$/.test(value)) throw badRequest(`invalid resource version: ${JSON.stringify(value)}`);
  return Number(value);
}
