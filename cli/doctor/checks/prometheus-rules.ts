import { type Check, type CheckResult, fail, pass, skip } from '../check.ts';
import type { KubeObject } from '../cluster.ts';
import { isRunning, type NotSelected, whyNotSelected } from '../operator-selection.ts';
import { partOfOurs, resources } from '../resources.ts';
import { missingCrds } from './knative.ts';

const apply = 'kubectl apply -k infra/alerting/prometheus-operator/ (docs/deploy.md)';

/**
 * With the Prometheus Operator: our PrometheusRules (found by label cluster-wide) are each loaded by a
 * running Prometheus, judged by its ruleSelector and ruleNamespaceSelector. Without it: skipped.
 */
export const prometheusRules: Check = {
  name: 'prometheus-rules',
  needsCluster: true,
  async run(context) {
    const missing = await missingCrds(context, [resources.Prometheus, resources.PrometheusRule]);
    if (missing.length)
      return [
        skip(
          'prometheus-rules',
          `Prometheus Operator not found (${missing.join(', ')} missing): the HighMemoryUsage rule is then yours to load (infra/alerting/plain/)`,
        ),
      ];
    const rules = await context.cluster.list(resources.PrometheusRule, { labelSelector: partOfOurs });
    if (!rules.length)
      return [
        fail(
          'prometheus-rules',
          `Prometheus Operator found, but no PrometheusRule labelled ${partOfOurs}`,
          apply,
        ),
      ];
    const running = (await context.cluster.list(resources.Prometheus)).filter(isRunning);
    if (!running.length)
      return [
        fail(
          'prometheus-rules',
          'no running Prometheus (none with status condition Available True): no alert will fire',
          'kubectl get prometheus -A, and kubectl describe the one that should run',
        ),
      ];
    const labels = await namespaceLabels(context.cluster.namespaces());
    return rules.map((rule) =>
      selectedResult('prometheus-rules', rule, running, (owner) =>
        whyNotSelected(
          owner,
          { selector: 'ruleSelector', namespaceSelector: 'ruleNamespaceSelector' },
          rule,
          labels(rule),
        ),
      ),
    );
  },
};

/** One line per object of ours: which running owner picks it up, or why none does (and the first fix). */
export function selectedResult(
  check: string,
  object: KubeObject,
  owners: KubeObject[],
  whyNot: (owner: KubeObject) => NotSelected | undefined,
): CheckResult {
  const name = `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
  const reasons = owners.map(whyNot);
  const selector = owners.find((_, i) => !reasons[i]);
  if (selector)
    return pass(
      check,
      `${name} is picked up by ${selector.kind} ${selector.metadata.namespace}/${selector.metadata.name}`,
    );
  const found = reasons.filter((reason) => reason !== undefined);
  return fail(
    check,
    `${name} is picked up by no running ${owners[0]!.kind}: ${found.map((r) => r.problem).join('; ')}`,
    found[0]!.fix,
  );
}

/** The labels of each object's namespace, from one list of all namespaces. */
export async function namespaceLabels(namespaces: Promise<KubeObject[]>) {
  const byName = new Map(
    (await namespaces).map((namespace) => [namespace.metadata.name, namespace.metadata.labels ?? {}]),
  );
  return (object: KubeObject) => byName.get(object.metadata.namespace ?? '') ?? {};
}
