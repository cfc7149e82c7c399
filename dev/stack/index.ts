import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRedisClient, createStore, type Store } from '../../adapters/redis-store/index.ts';
import { allFunctions } from '../../functions/lib/functions.ts';
import { createLogger } from '../../functions/lib/log.ts';
import { loadTriggers, type RunningBroker, startBroker, type Trigger } from '../broker/index.ts';
import { renderedDeployment } from '../kube-emulator/cluster/heapdump-cluster.ts';
import { type KubeEmulator, type PodManifest, startKubeEmulator } from '../kube-emulator/index.ts';
import { startRedisServer } from '../redis-bridge/redis-server.ts';
import { startRedisBridge } from '../redis-bridge/server.ts';
import { devEnvLines } from './env-file.ts';
import { EVENT_DISPLAY, type EventDisplay, eventDisplayTrigger, startEventDisplay } from './event-display.ts';
import { type FunctionProcess, startFunctionProcess } from './function-process.ts';
import { type PingSource, startPingSource } from './ping-source.ts';
import { fileStorage, type StorageBackend } from './storage.ts';

export { devEnvLines } from './env-file.ts';
export type { EventDisplay, SeenEvent } from './event-display.ts';
export type { FunctionProcess } from './function-process.ts';
export type { StorageBackend } from './storage.ts';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const functionNames = allFunctions.map((fn) => fn.name);
const BROKER = 'heapdump';
const OPTED_IN = 'heapdump.dev/enabled=true';

export interface DevStackOptions {
  /** Where `heapdumps/` and `.heapdump/dev` go; default the cwd. */
  workDir?: string;
  /** The env file, trace, kubeconfigs and logs; default `<workDir>/.heapdump/dev`. */
  stateDir?: string;
  /** Storage for upload-dump: a started backend, or the file backend in `storageDir`. */
  storage?: StorageBackend;
  /** The file backend's directory; default `<workDir>/heapdumps`. */
  storageDir?: string;
  /** The emulator's pods: YAML text or manifests, or a file; default test/fixtures/pods/demo.yaml. */
  pods?: string | PodManifest[];
  podsFile?: string;
  keyPrefix?: string;
  capacity?: { dump?: number; upload?: number };
  /** The PingSource stand-in's period; 0 turns it off (ticks are then sent with `ping.tick()`). */
  pingIntervalMs?: number;
  /** Changes the Triggers read from eventing/ before the Broker serves them (tests shorten backoffs). */
  adjustTriggers?: (triggers: Trigger[]) => Trigger[];
  /** Also deliver every event to an event display (Knative's event-display sample), to see their data. */
  eventDisplay?: boolean;
  /** Added to every function's environment, after the stack's own variables. */
  functionEnv?: Record<string, string>;
  /** Serve the functions from this build's start (build/start.cjs of `npm run build`) as the image does, not under tsx. */
  bundle?: string;
  /** The kubelet's restart back-off in the emulator; the dev default is quicker than the kubelet's 10 s. */
  restartBackoffMs?: number;
  /** Write `.heapdump/dev/env` for the CLI, curl and kubectl (default true); removed again by stop(). */
  writeEnvFile?: boolean;
  logLevel?: string;
  /** Progress lines while starting. */
  onProgress?: (line: string) => void;
}

export interface DevStack {
  brokerUrl: string;
  /** The admin kubeconfig, for kubectl and the CLI. */
  kubeconfig: string;
  redis: { restUrl: string; token: string; redisUrl: string };
  keyPrefix: string;
  traceFile: string;
  stateDir: string;
  envFile?: string;
  storage: StorageBackend;
  alertBridge?: { url: string; token: string };
  /** The functions running, by name. */
  functions: Record<string, FunctionProcess>;
  /** Functions of the chain that have no code yet (functions/<name>/index.ts is missing). */
  missing: string[];
  /** The variables written to the env file. */
  env: Record<string, string>;
  broker: RunningBroker;
  emulator: KubeEmulator;
  ping: PingSource;
  /** Every event the Broker routed, when started with `eventDisplay`. */
  display?: EventDisplay;
  /** The store the functions share, on the stack's key prefix. */
  store: Store;
  /** Aborted when stop() begins, so whoever waits on the stack gives up at once. */
  stopSignal: AbortSignal;
  stop(): Promise<void>;
}

/**
 * The whole chain on one machine, as Knative would run it: redis-server behind the REST bridge, the
 * Kubernetes API emulator with its ApiServerSource, the Broker over eventing/, each function served by
 * faas-js-runtime in its own process, the PingSource stand-in, and storage. stop() ends all of it.
 */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const progress = options.onProgress ?? (() => {});
  const workDir = resolve(options.workDir ?? process.cwd());
  const stateDir = resolve(options.stateDir ?? join(workDir, '.heapdump', 'dev'));
  const keyPrefix = options.keyPrefix ?? 'heapdump:';
  const stoppers: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const stopped = new AbortController();
  // Idempotent: a signal handler and a finally block may both stop the stack.
  const stopAll = () => {
    stopped.abort(new Error('the dev stack was stopped'));
    stopping ??= (async () => {
      for (const stop of stoppers.splice(0).reverse()) await stop().catch(() => {});
    })();
    return stopping;
  };

  try {
    await mkdir(join(stateDir, 'logs'), { recursive: true });
    await mkdir(join(stateDir, 'kubeconfigs'), { recursive: true });
    const traceFile = join(stateDir, 'trace.jsonl');
    await writeFile(traceFile, '');

    const redisServer = await startRedisServer();
    stoppers.push(() => redisServer.stop());
    const token = randomBytes(16).toString('hex');
    const bridge = await startRedisBridge({ redisUrl: redisServer.url, token, host: '127.0.0.1' });
    stoppers.push(() => bridge.close());
    const redis = { restUrl: bridge.url, token, redisUrl: redisServer.url };
    progress(`redis-server ${redis.redisUrl}, REST bridge ${redis.restUrl}`);

    const storage = options.storage ?? (await fileStorage(options.storageDir ?? join(workDir, 'heapdumps')));
    stoppers.push(() => storage.stop());
    progress(`storage: ${storage.kind} at ${storage.location}`);

    const podsFile = options.pods
      ? undefined
      : (options.podsFile ?? join(projectRoot, 'test/fixtures/pods/demo.yaml'));
    if (!existsSync(join(projectRoot, 'test/fixtures/java/Hog.class'))) {
      throw new Error(
        'test/fixtures/java/Hog.class is missing: run "make setup" to compile the Java fixtures',
      );
    }
    const emulator = await startKubeEmulator({
      host: '127.0.0.1',
      port: 0,
      ...(podsFile ? { podsFile } : { pods: options.pods }),
      kubeconfigPath: join(stateDir, 'kubeconfig'),
      workingDir: projectRoot,
      // The rest of a deployed, ready cluster (Knative and our manifests), so doctor and kubectl see one.
      objects: await renderedDeployment(projectRoot),
      timing: { backoffBaseMs: options.restartBackoffMs ?? 1000 },
      log: createLogger({ name: 'kube-emulator', level: options.logLevel ?? 'warn' }),
    });
    stoppers.push(() => emulator.stop());
    progress(`Kubernetes API emulator ${emulator.url} (${emulator.isolation} isolation)`);

    // The Broker starts first with a late-bound resolver: functions need its URL (K_SINK) to start.
    const urls: Record<string, string> = {};
    const loaded = await loadTriggers(join(projectRoot, 'eventing'));
    const adjusted = options.adjustTriggers ? options.adjustTriggers(loaded) : loaded;
    const display = options.eventDisplay ? await startEventDisplay() : undefined;
    if (display) {
      stoppers.push(() => display.close());
      urls[EVENT_DISPLAY] = display.url;
    }
    const namespace = adjusted[0]?.namespace ?? BROKER;
    const triggers = display ? [...adjusted, eventDisplayTrigger(namespace, BROKER)] : adjusted;
    let brokerUrl = '';
    const broker = await startBroker({
      triggers,
      broker: BROKER,
      host: '127.0.0.1',
      traceFile,
      resolve: (ref) => (ref.kind === 'Broker' ? brokerUrl : urls[ref.name]),
    });
    brokerUrl = broker.url;
    stoppers.push(() => broker.stop());
    progress(`Broker ${broker.url} (${broker.triggers.length} Triggers from eventing/)`);

    const present = functionNames.filter((name) =>
      existsSync(join(projectRoot, 'functions', name, 'index.ts')),
    );
    const missing = functionNames.filter((name) => !present.includes(name));
    const alertToken = randomBytes(24).toString('hex');
    const common = {
      REDIS_REST_URL: redis.restUrl,
      REDIS_REST_TOKEN: redis.token,
      HEAPDUMP_KEY_PREFIX: keyPrefix,
      HEAPDUMP_DUMP_POOL_CAPACITY: String(options.capacity?.dump ?? 1),
      HEAPDUMP_UPLOAD_POOL_CAPACITY: String(options.capacity?.upload ?? 1),
      LOG_LEVEL: options.logLevel ?? 'warn',
      FUNC_LOG_LEVEL: 'warn',
    };
    const own: Record<string, Record<string, string>> = {
      'alert-bridge': { K_SINK: broker.url, ALERT_BRIDGE_TOKEN: alertToken },
      'release-token': { K_SINK: broker.url },
      'upload-dump': storage.env,
    };
    const started = await Promise.all(
      present.map(async (name) => {
        const kubeconfig = join(stateDir, 'kubeconfigs', `${name}.kubeconfig`);
        // Each function reaches the API with its own least-privilege token, as its ServiceAccount would.
        if (emulator.tokens[name]) await emulator.writeKubeconfig(kubeconfig, name);
        const fn = await startFunctionProcess(name, {
          root: projectRoot,
          bundle: options.bundle,
          logFile: join(stateDir, 'logs', `${name}.log`),
          env: {
            ...common,
            HEAPDUMP_FUNCTION: name,
            ...(emulator.tokens[name] ? { KUBECONFIG: kubeconfig } : {}),
            ...own[name],
            ...options.functionEnv,
          },
        });
        urls[name] = fn.url;
        stoppers.push(() => fn.stop());
        return fn;
      }),
    );
    const functions = Object.fromEntries(started.map((fn) => [fn.name, fn]));
    for (const name of present) progress(`function ${name} ${functions[name]!.url}`);
    for (const name of missing) progress(`function ${name}: not written yet (functions/${name}/index.ts)`);

    emulator.setSink(broker.url, OPTED_IN);
    stoppers.push(async () => emulator.setSink(undefined));
    const ping = startPingSource({
      sink: broker.url,
      namespace,
      name: 'heapdump-sweep',
      intervalMs: options.pingIntervalMs ?? 60_000,
    });
    stoppers.push(async () => ping.stop());

    const alertBridge = functions['alert-bridge']
      ? { url: functions['alert-bridge'].url, token: alertToken }
      : undefined;
    const env = devEnvLines({
      brokerUrl: broker.url,
      kubeconfig: emulator.kubeconfigPath,
      redis,
      traceFile,
      keyPrefix,
      alertBridge,
      storage,
    });
    let envFile: string | undefined;
    if (options.writeEnvFile ?? true) {
      envFile = join(stateDir, 'env');
      const written = envFile;
      await writeFile(
        written,
        `${Object.entries(env)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n')}\n`,
        {
          mode: 0o600,
        },
      );
      stoppers.push(() => rm(written, { force: true }));
    }
    const store = createStore({
      redis: createRedisClient({ url: redis.restUrl, token: redis.token }),
      prefix: keyPrefix,
      pools: {
        dump: { capacity: options.capacity?.dump ?? 1 },
        upload: { capacity: options.capacity?.upload ?? 1 },
      },
    });

    return {
      brokerUrl: broker.url,
      kubeconfig: emulator.kubeconfigPath,
      redis,
      keyPrefix,
      traceFile,
      stateDir,
      envFile,
      storage,
      alertBridge,
      functions,
      missing,
      env,
      broker,
      emulator,
      ping,
      display,
      store,
      stopSignal: stopped.signal,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
