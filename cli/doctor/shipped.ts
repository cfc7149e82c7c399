import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { allFunctions } from '../../functions/lib/functions.ts';
import type { KubeObject } from './cluster.ts';

const run = promisify(execFile);

export const repoRoot = join(import.meta.dirname, '..', '..');

/** A Secret a function mounts, and which of its keys the function reads (through a `*_FILE` env var). */
export interface SecretNeed {
  name: string;
  keys: { key: string; env: string }[];
}

export interface FunctionNeeds {
  name: string;
  namespace: string;
  serviceAccount: string;
  /** `verb resource` pairs from its meta.ts, e.g. `create pods/exec`. */
  kubernetes: readonly string[];
  secrets: SecretNeed[];
}

/** What the project ships and the cluster must match: the eventing objects and each function's needs. */
export interface Shipped {
  /** `kubectl kustomize eventing/`, exactly what `kubectl apply -k eventing/` sends. */
  eventing: KubeObject[];
  functions: FunctionNeeds[];
}

export type Render = (dir: string) => Promise<KubeObject[]>;

/** Renders a kustomization directory with `kubectl kustomize`, as docs/deploy.md applies it. */
export const kubectlKustomize: Render = async (dir) => {
  const { stdout } = await run('kubectl', ['kustomize', join(repoRoot, dir)], { timeout: 30_000 });
  return parseAllDocuments(stdout).map((document) => document.toJS() as KubeObject);
};

export async function loadShipped(render: Render = kubectlKustomize): Promise<Shipped> {
  const eventing = await render('eventing');
  const functions = await Promise.all(allFunctions.map(async (meta) => needsOf(meta.name, meta.kubernetes)));
  return { eventing, functions };
}

interface FuncYaml {
  run?: { envs?: { name: string; value?: string }[]; volumes?: { secret?: string; path?: string }[] };
  deploy?: { namespace?: string; serviceAccountName?: string };
}

async function needsOf(name: string, kubernetes: readonly string[]): Promise<FunctionNeeds> {
  const descriptor = parseYaml(
    await readFile(join(repoRoot, 'functions', name, 'func.yaml'), 'utf8'),
  ) as FuncYaml;
  const files = (descriptor.run?.envs ?? []).filter((env) => env.name.endsWith('_FILE') && env.value);
  const secrets = (descriptor.run?.volumes ?? []).flatMap((volume) => {
    if (!volume.secret || !volume.path) return [];
    const prefix = `${volume.path.replace(/\/+$/, '')}/`;
    const keys = files
      .filter((env) => env.value!.startsWith(prefix))
      .map((env) => ({ key: env.value!.slice(prefix.length), env: env.name }));
    return [{ name: volume.secret, keys }];
  });
  return {
    name,
    namespace: descriptor.deploy?.namespace ?? 'heapdump',
    serviceAccount: descriptor.deploy?.serviceAccountName ?? 'default',
    kubernetes,
    secrets,
  };
}

/** The objects of one kind among the shipped ones. */
export function shippedOfKind(shipped: Shipped, kind: string): KubeObject[] {
  return shipped.eventing.filter((object) => object.kind === kind);
}
