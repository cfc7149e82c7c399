import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDispatcher } from './dispatcher.ts';
import { createIngress } from './ingress.ts';
import { createTrace, type Trace } from './trace.ts';
import { type Destination, loadTriggers, type Reference, type Trigger } from './triggers.ts';

/** Maps a Knative ref (e.g. kind Service, name decide-dump) to a URL; a map is looked up by name. */
export type Resolver = ((ref: Reference) => string | undefined) | Readonly<Record<string, string>>;

export interface BrokerOptions {
  /** Triggers already loaded (see loadTriggers), or… */
  triggers?: readonly Trigger[];
  /** …a kustomize directory, a directory or file of YAML, or YAML text, read with loadTriggers. */
  eventingDir?: string;
  /** Serve only the Triggers of this Broker (spec.broker); all of them when absent. */
  broker?: string;
  resolve: Resolver;
  port?: number;
  host?: string;
  /** Every hop is appended here as a JSON line. */
  traceFile?: string;
  traceCapacity?: number;
}

export interface RunningBroker {
  /** Where to POST CloudEvents (what K_SINK would hold); the path is `/<namespace>/<broker>` as in Knative. */
  url: string;
  triggers: readonly Trigger[];
  trace: Pick<Trace, 'entries' | 'on' | 'off'>;
  /** Resolves when no delivery, retry, reply or dead letter is in flight. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** A local stand-in for a Knative MT Broker, routing by the same Trigger YAML the cluster applies. */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const loaded =
    options.triggers ?? (options.eventingDir ? await loadTriggers(options.eventingDir) : undefined);
  if (!loaded) throw new Error('startBroker needs triggers or eventingDir');
  const triggers = options.broker ? loaded.filter((t) => t.broker === options.broker) : loaded;
  const host = options.host ?? '127.0.0.1';
  const path = `/${triggers[0]?.namespace ?? 'default'}/${options.broker ?? triggers[0]?.broker ?? 'default'}`;
  let url = '';

  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const trace = createTrace({ file: options.traceFile, capacity: options.traceCapacity });
  const resolveUrl = resolverFor(options.resolve);

  const ingress = createIngress({
    triggers,
    trace,
    deliver: (trigger, accepted) => dispatcher.deliver(trigger, accepted),
    track(delivery) {
      inFlight.add(delivery);
      void delivery.finally(() => inFlight.delete(delivery));
    },
  });
  const dispatcher = createDispatcher({
    resolve: resolveUrl,
    trace,
    publishReply: (reply, context) => ingress.publish(reply, context),
    brokerUrl: () => url,
    signal: stopping.signal,
  });

  const server = createServer((request, response) => {
    ingress.handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;

  async function idle(): Promise<void> {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  }

  return {
    url,
    triggers,
    trace: { entries: trace.entries, on: trace.on, off: trace.off },
    idle,
    async stop() {
      stopping.abort(new Error('broker stopped'));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await idle();
      await trace.close();
    },
  };
}

/** A Destination's URL: the ref's URL, the absolute uri, or the uri resolved against the ref's URL. */
function resolverFor(resolve: Resolver) {
  const lookup = typeof resolve === 'function' ? resolve : (ref: Reference) => resolve[ref.name];
  return (destination: Destination, namespace: string): string | undefined => {
    const base = destination.ref ? lookup({ namespace, ...destination.ref }) : undefined;
    if (destination.ref && !base) return undefined;
    if (!destination.uri) return base;
    return new URL(destination.uri, base).toString();
  };
}
