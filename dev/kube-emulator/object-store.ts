import { randomUUID } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import {
  builtinTypes,
  type KubeObject,
  type ResourceType,
  splitApiVersion,
  typesOfCrd,
} from './resource-types.ts';

export type { KubeObject } from './resource-types.ts';

/**
 * Objects of every kind but Pod, as `kubectl apply` would have left them: built-in kinds (namespaces,
 * secrets, RBAC, CRDs) and custom resources of the CRDs stored here. Read-only for API clients; tests
 * and the stack change them through put() and remove(). Objects keep the apiVersion they were put with
 * and are served at every served version of their kind (no conversion).
 */
export class ObjectStore {
  private version = 0;
  private readonly objects = new Map<string, KubeObject>();

  get resourceVersion(): string {
    return String(this.version);
  }

  /** Built-in types and those of the stored CRDs. */
  types(): ResourceType[] {
    const crds = this.list(builtinTypes.find((type) => type.kind === 'CustomResourceDefinition')!);
    return [...builtinTypes, ...crds.flatMap(typesOfCrd)];
  }

  typeOf(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    return this.types().find(
      (type) => type.group === group && type.version === version && type.kind === kind,
    );
  }

  typeByPlural(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types().find(
      (type) => type.group === group && type.version === version && type.plural === plural,
    );
  }

  /** Creates or replaces an object; CRDs come before their objects. Returns the object as stored. */
  put(object: KubeObject): KubeObject {
    const type = this.typeOf(object.apiVersion, object.kind);
    const where = `${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
    if (!type) throw new Error(`${where}: no served type ${object.apiVersion} ${object.kind} (CRD missing?)`);
    if (!object.metadata?.name) throw new Error(`${where}: metadata.name is required`);
    if (type.namespaced !== Boolean(object.metadata.namespace))
      throw new Error(`${where}: ${type.namespaced ? 'needs' : 'takes no'} metadata.namespace`);
    const key = keyOf(type, object.metadata.namespace, object.metadata.name);
    const previous = this.objects.get(key);
    const stored: KubeObject = structuredClone({
      ...object,
      metadata: {
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString(),
        generation: 1,
        ...previous?.metadata,
        ...object.metadata,
        resourceVersion: String(++this.version),
      },
    });
    this.objects.set(key, stored);
    return structuredClone(stored);
  }

  /** Puts every object of YAML documents (or a list), CRDs first. */
  load(objects: KubeObject[] | string): KubeObject[] {
    const list = typeof objects === 'string' ? parseObjects(objects) : objects;
    const crdsFirst = [...list].sort(
      (a, b) => Number(b.kind === 'CustomResourceDefinition') - Number(a.kind === 'CustomResourceDefinition'),
    );
    return crdsFirst.map((object) => this.put(object));
  }

  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): boolean {
    const type = this.typeOf(apiVersion, kind);
    if (!type) return false;
    const removed = this.objects.delete(keyOf(type, namespace, name));
    if (removed) this.version++;
    return removed;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const object = this.objects.get(keyOf(type, namespace, name));
    return object && structuredClone(object);
  }

  /** Objects of a type, in one namespace or all (sorted by namespace and name, as the API server lists). */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const prefix = `${type.group}|${type.kind}|`;
    return [...this.objects.entries()]
      .filter(
        ([key, object]) => key.startsWith(prefix) && (!namespace || object.metadata.namespace === namespace),
      )
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, object]) => structuredClone(object));
  }
}

function keyOf(type: ResourceType, namespace: string | undefined, name: string): string {
  return `${type.group}|${type.kind}|${type.namespaced ? namespace : ''}|${name}`;
}

/** YAML documents (each an object or a `kind: List`) as objects; empty documents are skipped. */
export function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((document, index) => {
    if (document.errors.length) throw new Error(`document ${index + 1}: ${document.errors[0]?.message}`);
    const value = document.toJS() as KubeObject | { kind: 'List'; items: KubeObject[] } | null;
    if (value == null) return [];
    return value.kind === 'List' ? (value as { items: KubeObject[] }).items : [value as KubeObject];
  });
}
