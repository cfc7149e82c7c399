import type { PodObject, PodRuntime } from './pod-runtime.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface PodEvent {
  type: WatchEventType;
  object: PodObject;
  resourceVersion: number;
}

const historyLimit = 1000;

/**
 * The pods and their resourceVersions, as etcd + the watch cache would hold them: every change gets the next
 * resourceVersion, and recent changes are kept so a watch can resume from the version its list returned.
 */
export class PodRegistry {
  private version = 1;
  private readonly pods = new Map<string, { runtime: PodRuntime; object: PodObject; json: string }>();
  private readonly history: PodEvent[] = [];
  private readonly listeners = new Set<(event: PodEvent) => void>();

  get resourceVersion(): string {
    return String(this.version);
  }

  add(runtime: PodRuntime): void {
    const key = keyOf(runtime.namespace, runtime.name);
    if (this.pods.has(key)) throw new Error(`pods "${runtime.name}" already exists in ${runtime.namespace}`);
    this.record('ADDED', key, runtime);
  }

  /** Called whenever a pod's status may have changed; emits MODIFIED only for a real change. */
  changed(runtime: PodRuntime): void {
    const key = keyOf(runtime.namespace, runtime.name);
    const entry = this.pods.get(key);
    if (entry?.runtime !== runtime) return;
    if (JSON.stringify(runtime.toObject(entry.object.metadata.resourceVersion)) === entry.json) return;
    this.record('MODIFIED', key, runtime);
  }

  remove(namespace: string, name: string): PodRuntime | undefined {
    const key = keyOf(namespace, name);
    const entry = this.pods.get(key);
    if (!entry) return undefined;
    this.pods.delete(key);
    const version = ++this.version;
    const object = {
      ...entry.object,
      metadata: { ...entry.object.metadata, resourceVersion: String(version) },
    };
    this.emit({ type: 'DELETED', object, resourceVersion: version });
    return entry.runtime;
  }

  get(namespace: string, name: string): { runtime: PodRuntime; object: PodObject } | undefined {
    return this.pods.get(keyOf(namespace, name));
  }

  list(): PodObject[] {
    return [...this.pods.values()].map((entry) => entry.object);
  }

  runtimes(): PodRuntime[] {
    return [...this.pods.values()].map((entry) => entry.runtime);
  }

  /** Changes after `resourceVersion`, or undefined when they are no longer kept (the watch gets 410 Gone). */
  eventsSince(resourceVersion: number): PodEvent[] | undefined {
    const oldest = this.history[0]?.resourceVersion ?? this.version + 1;
    if (resourceVersion < oldest - 1) return undefined;
    return this.history.filter((event) => event.resourceVersion > resourceVersion);
  }

  subscribe(listener: (event: PodEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(type: WatchEventType, key: string, runtime: PodRuntime): void {
    const version = ++this.version;
    const object = runtime.toObject(String(version));
    this.pods.set(key, { runtime, object, json: JSON.stringify(object) });
    this.emit({ type, object, resourceVersion: version });
  }

  private emit(event: PodEvent): void {
    this.history.push(event);
    if (this.history.length > historyLimit) this.history.shift();
    for (const listener of this.listeners) listener(event);
  }
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
