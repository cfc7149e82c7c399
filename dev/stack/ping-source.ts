import { randomUUID } from 'node:crypto';
import { CloudEvent, HTTP } from 'cloudevents';
import { EventTypes } from '../../functions/lib/events/index.ts';

export interface PingSource {
  /** Sends one tick now (what the schedule would send next); resolves with the Broker's status. */
  tick(): Promise<number>;
  stop(): void;
}

/**
 * Stands in for eventing/pingsource.yaml: every `intervalMs` (the schedule `* * * * *`) a
 * `dev.knative.sources.ping` event with the source's `data` goes to the sink, as the PingSource adapter
 * sends it (binary mode, source `/apis/v1/namespaces/<ns>/pingsources/<name>`).
 */
export function startPingSource(options: {
  sink: string;
  namespace: string;
  name: string;
  intervalMs: number;
  onError?: (error: unknown) => void;
}): PingSource {
  const tick = async () => {
    const event = new CloudEvent({
      specversion: '1.0',
      id: randomUUID(),
      type: EventTypes.sweep,
      source: `/apis/v1/namespaces/${options.namespace}/pingsources/${options.name}`,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: {},
    });
    const message = HTTP.binary(event);
    const response = await fetch(options.sink, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    return response.status;
  };
  const timer =
    options.intervalMs > 0
      ? setInterval(() => void tick().catch((error) => options.onError?.(error)), options.intervalMs)
      : undefined;
  timer?.unref();
  return { tick, stop: () => clearInterval(timer) };
}
