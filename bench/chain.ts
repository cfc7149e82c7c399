/**
 * `npm run bench -- chain [samples]`: the local Broker's warm hop and a function's cold start.
 * - hop: POST to the Broker's ingress → the Trigger's subscriber has the event, sequentially, after a
 *   warm-up; the baseline is the same POST straight to the subscriber, measured in the same run.
 * - cold start: from spawning a function's process to its first answered event, for the functions a bare
 *   event can wake: `coldStartMs` for the bundle the image runs (`npm run build`, `npm start`),
 *   `coldStartTsxMs` for dev/serve-function.ts under tsx as in `heapdump dev`; the baseline is
 *   faas-js-runtime serving a function that does nothing, measured in the same run.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudEvent, HTTP } from 'cloudevents';
import { build } from 'esbuild';
import { startBroker } from '../dev/broker/index.ts';
import { startRedisServer } from '../dev/redis-bridge/redis-server.ts';
import { startRedisBridge } from '../dev/redis-bridge/server.ts';
import { alertmanagerWebhook } from '../dev/stack/drive.ts';
import { startFunctionProcess } from '../dev/stack/function-process.ts';
import { projectRoot } from '../dev/stack/index.ts';
import { EventTypes } from '../functions/lib/events/index.ts';
import { buildFunctions } from '../scripts/build-functions.ts';
import { percentile } from './lib/report.ts';

const HOP_TYPE = 'dev.heapdump.bench.hop';
const triggerYaml = (namespace: string) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: bench-hop, namespace: ${namespace} }
spec:
  broker: heapdump
  filter: { attributes: { type: ${HOP_TYPE} } }
  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: bench-subscriber } }
  delivery: { retry: 0, timeout: PT10S }
`;

function binary(type: string, data: unknown) {
  const message = HTTP.binary(
    new CloudEvent({ id: randomUUID(), type, source: '/bench', datacontenttype: 'application/json', data }),
  );
  return { headers: message.headers as Record<string, string>, body: message.body as string };
}

/** A subscriber that answers 204 and resolves the waiter of the event id it received. */
async function startSubscriber() {
  const arrived = new Map<string, (at: number) => void>();
  const server = createServer((request, response) => {
    const at = performance.now();
    request.resume();
    request.once('end', () => {
      arrived.get(String(request.headers['ce-id']))?.(at);
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    arrival: (id: string) => new Promise<number>((resolve) => arrived.set(id, resolve)),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function hops(target: string, subscriber: Awaited<ReturnType<typeof startSubscriber>>, n: number) {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const { headers, body } = binary(HOP_TYPE, { i });
    const arrived = subscriber.arrival(headers['ce-id']!);
    const start = performance.now();
    const response = await fetch(target, { method: 'POST', headers, body });
    await response.arrayBuffer();
    samples.push((await arrived) - start);
  }
  return samples.sort((a, b) => a - b);
}

async function measureHop(samples: number) {
  const subscriber = await startSubscriber();
  const broker = await startBroker({
    eventingDir: triggerYaml('heapdump'),
    resolve: { 'bench-subscriber': subscriber.url },
  });
  try {
    await hops(broker.url, subscriber, 100); // warm-up: connections, JIT
    const viaBroker = await hops(broker.url, subscriber, samples);
    // The Broker's own share of a hop: from accepting the event to sending it on (the trace's queuedMs).
    const queued = broker.trace
      .entries()
      .filter((e) => e.kind === 'attempt')
      .slice(-samples)
      .map((e) => e.queuedMs ?? Number.NaN)
      .sort((a, b) => a - b);
    const direct = await hops(subscriber.url, subscriber, samples);
    return {
      hopP50Ms: percentile(viaBroker, 50),
      hopP99Ms: percentile(viaBroker, 99),
      brokerQueuedP50Ms: percentile(queued, 50),
      directP50Ms: percentile(direct, 50),
      hopP50VsDirect: percentile(viaBroker, 50) / percentile(direct, 50),
    };
  } finally {
    await broker.stop();
    await subscriber.close();
  }
}

/**
 * The baseline: faas-js-runtime as installed (not bundled, no code cache) serving a function that does
 * nothing (answers 204), through the same functions/server.ts, so it too stays on loopback.
 */
async function runtimeOnly(): Promise<string> {
  const dir = join(projectRoot, '.heapdump', 'bench', 'runtime-only');
  await mkdir(dir, { recursive: true });
  await build({
    entryPoints: [join(projectRoot, 'functions', 'server.ts')],
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    outfile: join(dir, 'server.mjs'),
    logLevel: 'error',
  });
  const file = join(dir, 'start.mjs');
  await writeFile(
    file,
    "import { serveFunction } from './server.mjs';\n" +
      "await serveFunction('runtime-only', { handle: () => undefined });\n",
  );
  return file;
}

/** Spawns the function and posts its event every 5 ms until the first answer; ms from spawn to it. */
async function coldStart(
  name: string,
  env: Record<string, string>,
  request: () => RequestInit,
  bundle?: string,
) {
  const spawned = performance.now();
  const starting = startFunctionProcess(name, { root: projectRoot, env, bundle });
  // The port is known only once the process is ready, so the first answer is timed from its side too.
  const fn = await starting;
  for (;;) {
    const response = await fetch(fn.url, request()).catch(() => undefined);
    if (response) {
      await response.arrayBuffer();
      const ms = performance.now() - spawned;
      await fn.stop();
      if (!response.ok) throw new Error(`${name} answered ${response.status}`);
      return { ms, readyMs: fn.readyMs };
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function writeKubeconfig(): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'heapdump-bench-')), 'kubeconfig');
  await writeFile(
    path,
    `apiVersion: v1
kind: Config
clusters: [{ name: none, cluster: { server: 'https://127.0.0.1:9' } }]
users: [{ name: none, user: { token: none } }]
contexts: [{ name: none, context: { cluster: none, user: none } }]
current-context: none
`,
  );
  return path;
}

async function measureColdStarts(rounds: number) {
  const redisServer = await startRedisServer();
  const token = randomBytes(16).toString('hex');
  const bridge = await startRedisBridge({ redisUrl: redisServer.url, token });
  const sink = await startSubscriber();
  const alertToken = randomBytes(24).toString('hex');
  const env = {
    REDIS_REST_URL: bridge.url,
    REDIS_REST_TOKEN: token,
    HEAPDUMP_KEY_PREFIX: `bench-${randomBytes(4).toString('hex')}:`,
    K_SINK: sink.url,
    ALERT_BRIDGE_TOKEN: alertToken,
    // decide-dump reads a kubeconfig at init; a sweep never reaches the API server.
    KUBECONFIG: await writeKubeconfig(),
    LOG_LEVEL: 'warn',
  };
  const sweep = () => ({ method: 'POST', ...binary(EventTypes.sweep, {}) });
  const alert = () => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${alertToken}` },
    body: JSON.stringify(alertmanagerWebhook([])),
  });
  const wakeable: [string, () => RequestInit][] = [
    ['alert-bridge', alert],
    ['decide-dump', sweep],
    ['release-token', sweep],
  ];
  const median = (values: number[]) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  const measure = async (bundle?: string) => {
    const results = Object.fromEntries(wakeable.map(([name]) => [name, [] as number[]]));
    for (const [name, request] of wakeable) await coldStart(name, env, request, bundle); // disk and transform caches
    for (let round = 0; round < rounds; round++) {
      for (const [name, request] of wakeable) {
        results[name]!.push((await coldStart(name, env, request, bundle)).ms);
      }
    }
    return results;
  };
  try {
    const tsx = await measure();
    const bundled = await measure(await buildFunctions(join(projectRoot, '.heapdump', 'bench', 'build')));
    const baselineEntry = await runtimeOnly();
    const baseline: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      baseline.push((await coldStart('runtime-only', env, sweep, baselineEntry)).ms);
    }
    const perFunction = Object.fromEntries(
      Object.entries(bundled).flatMap(([name, values]) => [
        [`coldStart.${name}Ms`, median(values)],
        [`coldStartTsx.${name}Ms`, median(tsx[name]!)],
      ]),
    );
    const runtimeOnlyMs = median(baseline.slice(1));
    return {
      coldStartMs: median(Object.values(bundled).flat()),
      coldStartTsxMs: median(Object.values(tsx).flat()),
      coldStartRuntimeOnlyMs: runtimeOnlyMs,
      coldStartVsRuntimeOnly: median(Object.values(bundled).flat()) / runtimeOnlyMs,
      coldStartTsxVsRuntimeOnly: median(Object.values(tsx).flat()) / runtimeOnlyMs,
      ...perFunction,
    };
  } finally {
    await sink.close();
    await bridge.close();
    await redisServer.stop();
  }
}

export default async function chain(args: string[]) {
  const samples = Number(args[0] ?? 1000);
  const hop = await measureHop(samples);
  const cold = await measureColdStarts(Number(args[1] ?? 3));
  return { samples, ...hop, ...cold, coldStartTargetMs: 400, hopP50TargetMs: 50 };
}
