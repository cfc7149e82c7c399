import { type Check, type CheckResult, type DoctorContext, fail, pass, skip } from '../check.ts';
import type { KubeObject } from '../cluster.ts';
import { isRunning, whyNotSelected } from '../operator-selection.ts';
import { optedInNamespaces } from '../opted-in.ts';
import { partOfOurs, resources } from '../resources.ts';
import { missingCrds } from './knative.ts';
import { namespaceLabels, selectedResult } from './prometheus-rules.ts';

/**
 * With the Prometheus Operator: every opted-in namespace has an AlertmanagerConfig of ours (the operator
 * scopes each to alerts of its own namespace), each is loaded by a running Alertmanager (its
 * alertmanagerConfigSelector and alertmanagerConfigNamespaceSelector), and the bearer-token Secret its
 * webhook reads exists beside it.
 */
export const alertmanagerConfigs: Check = {
  name: 'alertmanager-configs',
  needsCluster: true,
  async run(context) {
    const missing = await missingCrds(context, [resources.Alertmanager, resources.AlertmanagerConfig]);
    if (missing.length)
      return [
        skip(
          'alertmanager-configs',
          `Prometheus Operator's Alertmanager not found (${missing.join(', ')} missing): route alerts yourself (infra/alerting/plain/)`,
        ),
      ];
    const configs = await context.cluster.list(resources.AlertmanagerConfig, { labelSelector: partOfOurs });
    const results = await uncovered(context, configs);
    if (!configs.length) return results;
    const running = (await context.cluster.list(resources.Alertmanager)).filter(isRunning);
    if (!running.length)
      return [
        ...results,
        fail(
          'alertmanager-configs',
          'no running Alertmanager (none Available): alerts reach no alert-bridge',
          'kubectl get alertmanager -A, and kubectl describe the one that should run',
        ),
      ];
    const labels = await namespaceLabels(context.cluster.namespaces());
    const fields = {
      selector: 'alertmanagerConfigSelector',
      namespaceSelector: 'alertmanagerConfigNamespaceSelector',
    } as const;
    for (const config of configs) {
      results.push(
        selectedResult('alertmanager-configs', config, running, (owner) =>
          whyNotSelected(owner, fields, config, labels(config)),
        ),
      );
      results.push(...(await credentialResults(context, config)));
    }
    return results;
  },
};

/** Opted-in namespaces without an AlertmanagerConfig of ours: their alerts are routed nowhere. */
async function uncovered(context: DoctorContext, configs: KubeObject[]): Promise<CheckResult[]> {
  const covered = new Set(configs.map((config) => config.metadata.namespace));
  const lacking = (await optedInNamespaces(context)).filter(
    (namespace) => !covered.has(namespace.metadata.name),
  );
  if (!lacking.length) return [];
  const list = lacking.map((namespace) => namespace.metadata.name).join(', ');
  return [
    fail(
      'alertmanager-configs',
      `opted-in namespace(s) ${list} have no AlertmanagerConfig labelled ${partOfOurs}: their HighMemoryUsage alerts reach no alert-bridge`,
      `apply infra/alerting/prometheus-operator/route/ (or target-namespace/) in ${list}, with the Secret heapdump-alert-bridge (docs/deploy.md)`,
    ),
  ];
}

interface WebhookCredentials {
  receivers?: {
    webhookConfigs?: { httpConfig?: { authorization?: { credentials?: { name: string; key: string } } } }[];
  }[];
}

async function credentialResults(context: DoctorContext, config: KubeObject): Promise<CheckResult[]> {
  const namespace = config.metadata.namespace ?? '';
  const references = ((config.spec ?? {}) as WebhookCredentials).receivers?.flatMap((receiver) =>
    (receiver.webhookConfigs ?? []).flatMap(
      (webhook) => webhook.httpConfig?.authorization?.credentials ?? [],
    ),
  );
  return Promise.all(
    (references ?? []).map(async ({ name, key }) => {
      const secret = await context.cluster.secret(namespace, name);
      const what = `Secret ${namespace}/${name} (key ${key}, the bearer token AlertmanagerConfig ${config.metadata.name} sends)`;
      if (secret && key in ((secret.data ?? {}) as object))
        return pass('alertmanager-configs', `${what} present`);
      return fail(
        'alertmanager-configs',
        `${what} ${secret ? `lacks key ${key}` : 'does not exist'}: Alertmanager cannot call alert-bridge`,
        `kubectl -n ${namespace} create secret generic ${name} --from-literal=${key}="$ALERT_TOKEN" (the token of Secret heapdump/heapdump-alert-bridge; docs/deploy.md step 3)`,
      );
    }),
  );
}
