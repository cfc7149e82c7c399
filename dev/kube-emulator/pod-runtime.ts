import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../functions/lib/log.ts';
import { ContainerRunner, type ContainerState, type RestartTiming } from './container-runner.ts';
import { type ContainerManifest, memoryLimitOf, type PodManifest } from './manifests.ts';
import type { Isolation, Mount } from './sandbox.ts';

export interface PodRuntimeOptions {
  stateDir: string;
  nodeName: string;
  hostIP: string;
  defaultWorkingDir: string;
  isolation: Isolation;
  timing: RestartTiming;
  log: Logger;
  onChange: () => void;
}

export type PodObject = Record<string, unknown> & {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
};

const timestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A pod: its containers as host processes, its volumes as host directories, its status as the kubelet reports it. */
export class PodRuntime {
  readonly uid = randomUUID();
  readonly creationTimestamp = timestamp();
  readonly dir: string;
  readonly runners = new Map<string, ContainerRunner>();
  private startTime?: string;
  private readonly volumeDirs = new Map<string, string>();

  constructor(
    readonly manifest: PodManifest,
    private readonly options: PodRuntimeOptions,
  ) {
    this.dir = join(
      options.stateDir,
      `${manifest.metadata.namespace}_${manifest.metadata.name}_${this.uid.slice(0, 8)}`,
    );
    for (const volume of manifest.spec.volumes)
      this.volumeDirs.set(volume.name, volume.hostPath?.path ?? join(this.dir, 'volumes', volume.name));
    for (const container of manifest.spec.containers)
      this.runners.set(container.name, this.createRunner(container));
  }

  get namespace(): string {
    return this.manifest.metadata.namespace;
  }

  get name(): string {
    return this.manifest.metadata.name;
  }

  /** The host directory behind a volume (emptyDir or hostPath). */
  volumePath(volume: string): string | undefined {
    return this.volumeDirs.get(volume);
  }

  async start(): Promise<void> {
    await mkdir(join(this.dir, 'logs'), { recursive: true });
    for (const [name, path] of this.volumeDirs)
      if (this.manifest.spec.volumes.find((volume) => volume.name === name)?.emptyDir)
        await mkdir(path, { recursive: true });
    this.startTime = timestamp();
    await Promise.all([...this.runners.values()].map((runner) => runner.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.stop()));
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }

  exec(container: string, argv: readonly string[], stdin: boolean): ChildProcess | undefined {
    return this.runners.get(container)?.exec(argv, stdin);
  }

  toObject(resourceVersion: string): PodObject {
    const { metadata, spec } = this.manifest;
    const statuses = spec.containers.map((container) => {
      const runner = this.runners.get(container.name)!;
      const { restartCount, state, lastState, containerID } = runner.status();
      return {
        name: container.name,
        state,
        lastState,
        ready: runner.running,
        restartCount,
        image: container.image,
        imageID: '',
        ...(containerID ? { containerID } : {}),
        started: runner.running,
      };
    });
    const ready = statuses.every((status) => status.ready);
    const condition = (type: string, status: boolean) => ({
      type,
      status: status ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: this.startTime ?? this.creationTimestamp,
    });
    return {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { ...metadata, uid: this.uid, resourceVersion, creationTimestamp: this.creationTimestamp },
      spec: {
        ...spec,
        nodeName: this.options.nodeName,
        serviceAccountName: 'default',
        schedulerName: 'default-scheduler',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
      },
      status: {
        phase: phaseOf(
          statuses.map((status) => status.state),
          spec.restartPolicy,
        ),
        conditions: [
          condition('Initialized', true),
          condition('Ready', ready),
          condition('ContainersReady', ready),
          condition('PodScheduled', true),
        ],
        hostIP: this.options.hostIP,
        hostIPs: [{ ip: this.options.hostIP }],
        podIP: this.options.hostIP,
        podIPs: [{ ip: this.options.hostIP }],
        ...(this.startTime ? { startTime: this.startTime } : {}),
        containerStatuses: statuses,
        qosClass: qosClassOf(spec.containers),
      },
    };
  }

  private createRunner(container: ContainerManifest): ContainerRunner {
    const { options, manifest } = this;
    const mounts: Mount[] = container.volumeMounts.map((mount) => ({
      hostPath: this.volumeDirs.get(mount.name)!,
      mountPath: mount.mountPath,
    }));
    return new ContainerRunner({
      argv: [...container.command, ...container.args],
      sandbox: {
        dir: join(this.dir, 'containers', container.name),
        mounts,
        workingDir: container.workingDir ?? options.defaultWorkingDir,
        env: this.envOf(container),
      },
      isolation: options.isolation,
      memoryLimitBytes: memoryLimitOf(container),
      restartPolicy: manifest.spec.restartPolicy,
      logPath: join(this.dir, 'logs', `${container.name}.log`),
      timing: options.timing,
      describe: `${container.name} pod=${manifest.metadata.name}_${manifest.metadata.namespace}(${this.uid})`,
      log: options.log,
      onChange: options.onChange,
    });
  }

  private envOf(container: ContainerManifest): Record<string, string> {
    const fields: Record<string, string> = {
      'metadata.name': this.name,
      'metadata.namespace': this.namespace,
      'metadata.uid': this.uid,
      'spec.nodeName': this.options.nodeName,
      'status.podIP': this.options.hostIP,
    };
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      HOSTNAME: this.name,
    };
    for (const variable of container.env)
      env[variable.name] = variable.valueFrom
        ? fields[variable.valueFrom.fieldRef.fieldPath]!
        : (variable.value ?? '');
    return env;
  }
}

function phaseOf(states: ContainerState[], restartPolicy: PodManifest['spec']['restartPolicy']): string {
  if (states.every((state) => 'waiting' in state && state.waiting.reason === 'ContainerCreating'))
    return 'Pending';
  const ended = states.flatMap((state) => ('terminated' in state ? [state.terminated] : []));
  if (ended.length < states.length || restartPolicy === 'Always') return 'Running';
  return ended.every((end) => end.exitCode === 0) ? 'Succeeded' : 'Failed';
}

function qosClassOf(containers: ContainerManifest[]): string {
  const resources = containers.map((container) => container.resources);
  if (resources.every((r) => !r.limits && !r.requests)) return 'BestEffort';
  const guaranteed = resources.every(
    (r) => r.limits?.memory !== undefined && r.limits?.cpu !== undefined && !r.requests,
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
