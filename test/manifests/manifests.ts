import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { allFunctions, type FunctionName } from '../../functions/lib/functions.ts';

export const repoRoot = join(import.meta.dirname, '..', '..');

/** A rendered Kubernetes object, read loosely: the tests narrow what they look at. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form; each test reads the fields it checks
  [field: string]: any;
}

/** `kubectl kustomize <dir>`, parsed: exactly what `kubectl apply -k <dir>` would send. */
export function renderKustomization(dir: string): KubeObject[] {
  const rendered = execFileSync('kubectl', ['kustomize', join(repoRoot, dir)], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return parseAllDocuments(rendered).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors[0]?.message}`);
    return doc.toJS() as KubeObject;
  });
}

export function ofKind(objects: readonly KubeObject[], kind: string): KubeObject[] {
  return objects.filter((object) => object.kind === kind);
}

export function objectName(object: KubeObject): string {
  const where = object.metadata.namespace ? `${object.metadata.namespace}/` : '';
  return `${object.kind} ${where}${object.metadata.name}`;
}

/** Where the generated models of an API group live (kubernetes-models and its third-party packages). */
function modelModule(apiVersion: string): string {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  if (group.endsWith('.knative.dev')) return `@kubernetes-models/knative/${apiVersion}`;
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

interface SchemaError {
  instancePath: string;
  message?: string;
  keyword?: string;
  params?: { missingProperty?: string };
}

/** Some generated schemas (SinkBinding) mark `status` required; the controller writes it, never a manifest. */
function isServerWrittenStatus(error: SchemaError): boolean {
  return (
    error.instancePath === '' && error.keyword === 'required' && error.params?.missingProperty === 'status'
  );
}

type ModelClass = new (data: unknown) => { validate(): void };

/**
 * Validates an object against the JSON schema of its apiVersion and kind (types, enums, required
 * fields, formats). Returns the problems; an object of a kind no model knows is a problem too.
 */
export async function schemaProblems(object: KubeObject): Promise<string[]> {
  let models: Record<string, unknown>;
  try {
    models = (await import(modelModule(object.apiVersion))) as Record<string, unknown>;
  } catch {
    return [`no model for apiVersion ${object.apiVersion}`];
  }
  const Model = models[object.kind] as ModelClass | undefined;
  if (!Model) return [`no model for ${object.apiVersion} ${object.kind}`];
  const { apiVersion: _apiVersion, kind: _kind, ...data } = object;
  try {
    new Model(data).validate();
    return [];
  } catch (error) {
    const details = (error as { errors?: SchemaError[] }).errors;
    if (!details) return [(error as Error).message];
    return details
      .filter((detail) => !isServerWrittenStatus(detail))
      .map((detail) => `${detail.instancePath || '/'} ${detail.message ?? ''}`);
  }
}

export interface FuncEnv {
  name: string;
  value?: string;
}

/** The fields of func.yaml the tests read (the schema test checks the rest). */
export interface FuncDescriptor {
  name: string;
  runtime?: string;
  run?: { envs?: FuncEnv[]; volumes?: { secret?: string; path?: string }[] };
  deploy?: {
    namespace?: string;
    serviceAccountName?: string;
    subscriptions?: unknown[];
    labels?: { key: string; value?: string }[];
    options?: { scale?: { min?: number; max?: number } };
  };
}

export function readYamlFile(path: string): unknown {
  return parseYaml(readFileSync(join(repoRoot, path), 'utf8'));
}

export const functionNames: FunctionName[] = allFunctions.map((meta) => meta.name);

export function readFunctionDescriptor(name: FunctionName): FuncDescriptor {
  return readYamlFile(join('functions', name, 'func.yaml')) as FuncDescriptor;
}

export function envOf(descriptor: FuncDescriptor): Map<string, string> {
  return new Map((descriptor.run?.envs ?? []).map((env) => [env.name, env.value ?? '']));
}
