import { type Check, type CheckResult, type DoctorOptions, fail, skip } from './check.ts';
import { alertmanagerConfigs } from './checks/alertmanager-configs.ts';
import { apiServer } from './checks/api-server.ts';
import { eventingObjects } from './checks/eventing-objects.ts';
import { functionRbac } from './checks/function-rbac.ts';
import { functionSecrets } from './checks/function-secrets.ts';
import { knative } from './checks/knative.ts';
import { podWatcher } from './checks/pod-watcher.ts';
import { prometheusRules } from './checks/prometheus-rules.ts';
import { redis } from './checks/redis.ts';
import { sftp } from './checks/sftp.ts';
import { triggers } from './checks/triggers.ts';
import { type ClusterReader, describeClusterError, type KubeObject } from './cluster.ts';
import type { Shipped } from './shipped.ts';

/** In report order; the API server check gates every check that reads the cluster. */
export const allChecks: Check[] = [
  apiServer,
  knative,
  eventingObjects,
  triggers,
  podWatcher,
  functionRbac,
  functionSecrets,
  prometheusRules,
  alertmanagerConfigs,
  redis,
  sftp,
];

export interface DoctorDeps {
  cluster: ClusterReader;
  loadShipped(): Promise<Shipped>;
  checks?: Check[];
}

export interface DoctorReport {
  ok: boolean;
  results: CheckResult[];
}

/** Runs every check, one after the other; a check that throws becomes a "could not check" line. */
export async function runDoctor(deps: DoctorDeps, options: DoctorOptions): Promise<DoctorReport> {
  const results: CheckResult[] = [];
  let shipped: Shipped | undefined;
  try {
    shipped = await deps.loadShipped();
  } catch (error) {
    results.push(
      fail(
        'manifests',
        `could not read the project's manifests: ${(error as Error).message}`,
        'run doctor from a checkout of knative-heapdump, with kubectl on PATH (it renders eventing/ with kubectl kustomize)',
      ),
    );
  }
  const context = {
    cluster: cachedReads(deps.cluster),
    shipped: shipped ?? { eventing: [], functions: [] },
    options,
  };
  let clusterUnusable: string | undefined = shipped ? undefined : "the project's manifests could not be read";
  for (const check of deps.checks ?? allChecks) {
    if (check.needsCluster && clusterUnusable) {
      results.push(skip(check.name, `${check.name} skipped: ${clusterUnusable}`));
      continue;
    }
    try {
      results.push(...(await check.run(context)));
    } catch (error) {
      results.push(
        fail(check.name, `could not check ${check.name}: ${describeClusterError(error)}`, fixFor(error)),
      );
      if (check === apiServer) clusterUnusable = 'the API server did not answer';
    }
  }
  return { ok: results.every((result) => result.outcome !== 'fail'), results };
}

function fixFor(error: unknown): string {
  const message = describeClusterError(error);
  if (/^HTTP 40[13]/.test(message))
    return 'use a kubeconfig that may read CRDs, namespaces, pods, secrets, service accounts and the Knative and monitoring objects, and create subjectaccessreviews';
  if (/^HTTP /.test(message))
    return 'the API server refused a read: see the message; kubectl with -v=6 shows the same request';
  return 'check that the current kubeconfig context points at a running cluster (kubectl config current-context; --kubeconfig, --context)';
}

/** Checks ask for the same CRDs and namespaces: one request each per run. */
function cachedReads(cluster: ClusterReader): ClusterReader {
  let crds: ReturnType<ClusterReader['crds']> | undefined;
  const namespaces = new Map<string, Promise<KubeObject[]>>();
  return {
    ...cluster,
    crds: () => {
      crds ??= cluster.crds();
      return crds;
    },
    namespaces: (labelSelector) => {
      const key = labelSelector ?? '';
      if (!namespaces.has(key)) namespaces.set(key, cluster.namespaces(labelSelector));
      return namespaces.get(key)!;
    },
  };
}
