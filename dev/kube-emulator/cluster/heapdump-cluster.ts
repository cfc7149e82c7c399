import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseObjects } from '../object-store.ts';
import type { KubeObject } from '../resource-types.ts';
import { withReadyStatus } from './ready-status.ts';

const run = promisify(execFile);

/** The project's manifests, rendered (`kubectl kustomize <dir>`), as docs/deploy.md applies them. */
export interface RenderedManifests {
  /** infra/ */
  infra: KubeObject[];
  /** infra/alerting/prometheus-operator/ */
  alerting: KubeObject[];
  /** infra/secrets/: the Secret templates, created for real with fresh values */
  secrets: KubeObject[];
  /** eventing/ */
  eventing: KubeObject[];
}

/** The kinds the emulator stores; the rest of infra/ (workloads, services, policies) is not served. */
const servedKinds = new Set([
  'Namespace',
  'ServiceAccount',
  'Secret',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'PrometheusRule',
  'AlertmanagerConfig',
  'Broker',
  'Trigger',
  'ApiServerSource',
  'PingSource',
  'SinkBinding',
]);

const optInLabel = 'heapdump.dev/enabled';

/**
 * The objects of a cluster where knative-heapdump is deployed and everything became ready: Knative and
 * the Prometheus Operator installed (CRD stubs, a Prometheus and an Alertmanager that select all), our
 * manifests applied, the Secrets created, every controller done. For the emulator, so that what reads a
 * cluster (heapdump doctor, kubectl) can be tested against it; tests break one thing at a time from here.
 */
export function deployedCluster(manifests: RenderedManifests, now = new Date()): KubeObject[] {
  const fixtures = (file: string) => parseObjects(readFileSync(join(import.meta.dirname, file), 'utf8'));
  const applied = [...manifests.infra, ...manifests.alerting, ...manifests.eventing].filter((object) =>
    servedKinds.has(object.kind),
  );
  const optedInNamespaces = applied
    .filter((object) => object.kind === 'Namespace' && object.metadata.labels?.[optInLabel] === 'true')
    .map((object) => object.metadata.name);
  const context = { now: now.toISOString(), optedInNamespaces };
  return [
    ...fixtures('crds.yaml'),
    ...fixtures('monitoring.yaml'),
    ...applied,
    ...manifests.secrets.map(createdSecret),
  ].map((object) => withReadyStatus(object, context));
}

/** A Secret template as `kubectl create secret generic` would create it: every key, a fresh value, base64 in data. */
function createdSecret(template: KubeObject): KubeObject {
  const keys = Object.keys({
    ...(template.stringData as Record<string, string> | undefined),
    ...(template.data as Record<string, string> | undefined),
  });
  const { stringData: _stringData, ...rest } = template;
  return {
    ...rest,
    data: Object.fromEntries(keys.map((key) => [key, randomBytes(24).toString('base64')])),
  };
}

/**
 * The project's manifests rendered as docs/deploy.md applies them (`kubectl kustomize`), deployed and
 * ready: what `heapdump dev` serves besides its pods, so `heapdump doctor` and kubectl see a deployment.
 */
export async function renderedDeployment(projectRoot: string): Promise<KubeObject[]> {
  const render = async (dir: string) => {
    const { stdout } = await run('kubectl', ['kustomize', join(projectRoot, dir)], { maxBuffer: 16 << 20 });
    return parseObjects(stdout);
  };
  const [infra, alerting, secrets, eventing] = await Promise.all(
    ['infra', 'infra/alerting/prometheus-operator', 'infra/secrets', 'eventing'].map(render),
  );
  return deployedCluster({ infra: infra!, alerting: alerting!, secrets: secrets!, eventing: eventing! });
}
