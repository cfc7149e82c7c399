import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { createLogger, type Logger } from '../../functions/lib/log.ts';
import { createApiServer } from './api-server.ts';
import { createApiServerSource } from './apiserver-source.ts';
import { type AccessRule, createAuthorizer, defaultTokenGrants, type TokenGrant } from './auth.ts';
import type { RestartTiming } from './container-runner.ts';
import { kubeconfigYaml } from './kubeconfig.ts';
import { type PodManifest, parsePodManifests, readPodManifests } from './manifests.ts';
import { type KubeObject, ObjectStore } from './object-store.ts';
import { PodRegistry } from './pod-registry.ts';
import { type PodObject, PodRuntime } from './pod-runtime.ts';
import { detectIsolation, type Isolation } from './sandbox.ts';
import { createServingCertificate } from './tls.ts';

export { type AccessRule, defaultTokenGrants, type TokenGrant } from './auth.ts';
export type { PodManifest } from './manifests.ts';
export type { KubeObject, ObjectStore } from './object-store.ts';
export type { PodObject } from './pod-runtime.ts';
export type { Isolation } from './sandbox.ts';

export interface KubeEmulatorOptions {
  /** Pod manifests: parsed, YAML text, or read from `podsFile`. */
  pods?: PodManifest[] | string;
  podsFile?: string;
  /** Objects of other kinds, parsed or YAML text: namespaces, secrets, RBAC, CRDs and their objects. */
  objects?: KubeObject[] | string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Where to write the admin kubeconfig; default `<stateDir>/kubeconfig`. */
  kubeconfigPath?: string;
  /** Bearer tokens by name; default: `admin` plus one least-privilege token per function. */
  tokens?: Record<string, TokenGrant>;
  sink?: string;
  sinkSelector?: string;
  isolation?: Isolation;
  /** Pod directories (volumes, private /tmp, logs). Outside /tmp, since /tmp is private inside containers. */
  stateDir?: string;
  /** A container's working directory when its manifest names none. */
  workingDir?: string;
  nodeName?: string;
  timing?: Partial<RestartTiming>;
  /** Bytes queued on an exec WebSocket before the command's output is paused. */
  execHighWaterMark?: number;
  log?: Logger;
}

export interface KubeEmulator {
  url: string;
  /** The self-signed certificate the emulator serves (PEM): the CA for clients outside a kubeconfig. */
  caCert: string;
  kubeconfigPath: string;
  /** Token values by name (`admin`, `decide-dump`, `exec-dump`, `upload-dump`, ...). */
  tokens: Record<string, string>;
  isolation: Isolation;
  /** The stored objects besides pods: tests put, change and remove them while the emulator runs. */
  objects: ObjectStore;
  /** Adds rules for a user (e.g. `system:serviceaccount:heapdump:heapdump-pod-watcher`), for SubjectAccessReviews. */
  grant(user: string, rules: AccessRule[]): void;
  /** A kubeconfig for one of the tokens, e.g. to give a function exactly its own RBAC. */
  kubeconfigFor(tokenName: string): string;
  writeKubeconfig(path: string, tokenName?: string): Promise<void>;
  setSink(url: string | undefined, labelSelector?: string): void;
  /** Resolves once every ApiServerSource event so far reached the sink (or was given up on). */
  flushSink(): Promise<void>;
  addPods(pods: PodManifest[] | string): Promise<PodObject[]>;
  deletePod(namespace: string, name: string): Promise<PodObject | undefined>;
  pod(namespace: string, name: string): PodObject | undefined;
  /** The host directory behind a pod's volume: tests put files there or check what a dump left. */
  volumePath(namespace: string, pod: string, volume: string): string | undefined;
  stop(): Promise<void>;
}

const defaultTiming: RestartTiming = {
  backoffBaseMs: 10_000,
  backoffMaxMs: 300_000,
  backoffResetMs: 600_000,
  memorySampleMs: 100,
};

/** Starts the Kubernetes API emulator: pods as local processes, the API on loopback, ready for kubectl. */
export async function startKubeEmulator(options: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
  const log = options.log ?? createLogger({ name: 'kube-emulator', level: process.env.LOG_LEVEL ?? 'warn' });
  const objects = new ObjectStore();
  objects.load(options.objects ?? []); // before anything is started: a bad object leaves nothing behind
  const isolation = options.isolation ?? (await detectIsolation());
  const stateDir = options.stateDir ?? (await mkdtemp('/var/tmp/heapdump-kube-emulator-'));
  const grants = options.tokens ?? defaultTokenGrants();
  const registry = new PodRegistry();
  const runtimeOptions = {
    stateDir,
    nodeName: options.nodeName ?? 'kube-emulator',
    hostIP: '127.0.0.1',
    defaultWorkingDir: options.workingDir ?? process.cwd(),
    isolation,
    timing: { ...defaultTiming, ...options.timing },
    log,
  };

  const addPods = async (pods: PodManifest[] | string) => {
    const manifests = typeof pods === 'string' ? parsePodManifests(pods) : pods;
    const runtimes = manifests.map((manifest) => {
      const runtime: PodRuntime = new PodRuntime(manifest, {
        ...runtimeOptions,
        onChange: () => registry.changed(runtime),
      });
      registry.add(runtime);
      return runtime;
    });
    await Promise.all(runtimes.map((runtime) => runtime.start()));
    return runtimes.map((runtime) => registry.get(runtime.namespace, runtime.name)!.object);
  };
  const deletePod = async (namespace: string, name: string) => {
    const object = registry.get(namespace, name)?.object;
    const runtime = registry.remove(namespace, name);
    await runtime?.stop();
    return object;
  };

  const authorizer = createAuthorizer(Object.values(grants));
  const tls = await createServingCertificate(stateDir);
  const server = createApiServer({
    registry,
    pods: { create: async (manifest) => (await addPods([manifest]))[0]!, delete: deletePod },
    authorizer,
    objects,
    execHighWaterMark: options.execHighWaterMark ?? 1 << 20,
    tls,
    log,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `https://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  const source = createApiServerSource({ registry, source: url, log });
  const initialPods = options.podsFile ? await readPodManifests(options.podsFile) : (options.pods ?? []);
  try {
    await addPods(initialPods);
  } catch (error) {
    await Promise.all(registry.runtimes().map((runtime) => runtime.stop()));
    server.close();
    throw error;
  }
  // After the initial pods: the source announces changes from here on, not the pods that already exist.
  source.setSink(options.sink, options.sinkSelector);

  const kubeconfigFor = (tokenName: string) => {
    const grant = grants[tokenName];
    if (!grant) throw new Error(`no token named ${tokenName}; have ${Object.keys(grants).join(', ')}`);
    return kubeconfigYaml(url, tls.cert, tokenName, grant.token);
  };
  const writeKubeconfig = async (path: string, tokenName = 'admin') => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, kubeconfigFor(tokenName), { mode: 0o600 });
  };
  const kubeconfigPath = options.kubeconfigPath ?? join(stateDir, 'kubeconfig');
  await writeKubeconfig(kubeconfigPath);

  let stopping: Promise<void> | undefined;
  return {
    url,
    caCert: tls.cert,
    kubeconfigPath,
    tokens: Object.fromEntries(Object.entries(grants).map(([name, grant]) => [name, grant.token])),
    isolation,
    objects,
    grant: (user, rules) => authorizer.grant(user, rules),
    kubeconfigFor,
    writeKubeconfig,
    setSink: (sink, selector) => source.setSink(sink, selector),
    flushSink: () => source.flush(),
    addPods,
    deletePod,
    pod: (namespace, name) => registry.get(namespace, name)?.object,
    volumePath: (namespace, pod, volume) => registry.get(namespace, pod)?.runtime.volumePath(volume),
    stop() {
      stopping ??= (async () => {
        source.close();
        const closed = new Promise((resolve) => server.close(resolve));
        server.closeAllConnections();
        await Promise.all(registry.runtimes().map((runtime) => runtime.stop()));
        await closed;
        if (!options.stateDir) await rm(stateDir, { recursive: true, force: true, maxRetries: 3 });
      })();
      return stopping;
    },
  };
}
