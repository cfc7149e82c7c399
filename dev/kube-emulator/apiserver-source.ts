import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudEvent, HTTP } from 'cloudevents';
import type { Logger } from '../../functions/lib/log.ts';
import type { PodEvent, PodRegistry, WatchEventType } from './pod-registry.ts';
import { parseLabelSelector, type Selector } from './selectors.ts';

const eventTypes: Record<WatchEventType, string> = {
  ADDED: 'dev.knative.apiserver.resource.add',
  MODIFIED: 'dev.knative.apiserver.resource.update',
  DELETED: 'dev.knative.apiserver.resource.delete',
};

export interface ApiServerSource {
  /** Where events go (undefined stops sending); only pods matching the label selector are sent. */
  setSink(url: string | undefined, labelSelector?: string): void;
  /** Resolves when every event queued so far was delivered or given up on. */
  flush(): Promise<void>;
  close(): void;
}

export interface ApiServerSourceOptions {
  registry: PodRegistry;
  /** The API server's URL: ApiServerSource puts it in `source`. */
  source: string;
  log: Logger;
  attempts?: number;
}

/**
 * Knative's ApiServerSource in `Resource` mode, watching Pods: each change becomes a CloudEvent whose data is
 * the whole Pod, posted in order, in binary mode, to the sink. Pods that existed before the sink was set are
 * not announced (the real source sends no `add` for them either).
 */
export function createApiServerSource(options: ApiServerSourceOptions): ApiServerSource {
  const { log } = options;
  const attempts = options.attempts ?? 4;
  let sink: string | undefined;
  let matches: Selector = () => true;
  let queue = Promise.resolve();
  let closed = false;

  const deliver = async (url: string, event: PodEvent) => {
    const { metadata } = event.object;
    const cloudEvent = new CloudEvent({
      specversion: '1.0',
      id: randomUUID(),
      type: eventTypes[event.type],
      source: options.source,
      subject: `/apis/v1/namespaces/${metadata.namespace}/pods/${metadata.name}`,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: event.object,
      kind: 'Pod',
      apiversion: 'v1',
      name: metadata.name,
      namespace: metadata.namespace,
    });
    const message = HTTP.binary(cloudEvent);
    for (let attempt = 1; attempt <= attempts && !closed; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: message.headers as Record<string, string>,
          body: message.body as string,
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        if (response.ok) return;
        if (response.status < 500 && ![404, 408, 409, 429].includes(response.status)) {
          log.warn({ sink: url, status: response.status, type: cloudEvent.type }, 'sink refused the event');
          return;
        }
      } catch (error) {
        if (attempt === attempts) log.warn({ err: error, sink: url }, 'sink unreachable, event dropped');
      }
      await sleep(100 * 2 ** attempt);
    }
  };

  const unsubscribe = options.registry.subscribe((event) => {
    const url = sink;
    if (!url || closed || !matches(event.object)) return;
    queue = queue.then(() => deliver(url, event));
  });

  return {
    setSink(url, labelSelector) {
      sink = url;
      matches = parseLabelSelector(labelSelector);
    },
    flush: () => queue,
    close() {
      closed = true;
      unsubscribe();
    },
  };
}
