import type { KubeObject } from './cluster.ts';
import { type LabelSelector, selectorText, selects } from './label-selector.ts';

/** The two selectors by which a Prometheus (rules) or an Alertmanager (configs) picks up objects. */
export interface SelectorFields {
  selector: 'ruleSelector' | 'alertmanagerConfigSelector';
  namespaceSelector: 'ruleNamespaceSelector' | 'alertmanagerConfigNamespaceSelector';
}

export interface NotSelected {
  problem: string;
  fix: string;
}

/**
 * Why `owner` does not pick up `object`, or undefined when it does. The Prometheus Operator's rules
 * (prometheus-operator pkg/apis/monitoring/v1/prometheus_types.go, pkg/alertmanager/operator.go): an
 * unset object selector selects nothing, `{}` everything; an unset namespace selector means the owner's
 * own namespace only, `{}` every namespace.
 */
export function whyNotSelected(
  owner: KubeObject,
  fields: SelectorFields,
  object: KubeObject,
  namespaceLabels: Record<string, string>,
): NotSelected | undefined {
  const spec = (owner.spec ?? {}) as Record<string, LabelSelector | null | undefined>;
  const ownerName = `${owner.kind} ${owner.metadata.namespace}/${owner.metadata.name}`;
  const objectName = `${object.kind} ${object.metadata.namespace}/${object.metadata.name}`;
  const selector = spec[fields.selector];
  if (selector == null)
    return {
      problem: `${ownerName} has no spec.${fields.selector}, so it selects no ${object.kind}`,
      fix: `set spec.${fields.selector} on ${ownerName} ({} selects all, or matchLabels app.kubernetes.io/part-of: knative-heapdump)`,
    };
  if (!selects(selector, object.metadata.labels))
    return {
      problem: `${ownerName} spec.${fields.selector} (${selectorText(selector)}) does not match the labels of ${objectName}`,
      fix: `add the label(s) ${selectorText(selector)} to ${objectName} (a kustomize labels entry in your overlay of infra/alerting/prometheus-operator/)`,
    };
  const namespaceSelector = spec[fields.namespaceSelector];
  const namespace = object.metadata.namespace ?? '';
  if (namespaceSelector == null && namespace !== owner.metadata.namespace)
    return {
      problem: `${ownerName} has no spec.${fields.namespaceSelector}, so it reads only its own namespace ${owner.metadata.namespace}, not ${namespace}`,
      fix: `set spec.${fields.namespaceSelector} on ${ownerName} ({} for every namespace, or one that selects namespace ${namespace})`,
    };
  if (namespaceSelector != null && !selects(namespaceSelector, namespaceLabels))
    return {
      problem: `${ownerName} spec.${fields.namespaceSelector} (${selectorText(namespaceSelector)}) does not select namespace ${namespace}`,
      fix: namespaceSelector.matchExpressions?.length
        ? `label namespace ${namespace} to match ${selectorText(namespaceSelector)} (or widen spec.${fields.namespaceSelector})`
        : `kubectl label namespace ${namespace} ${selectorText(namespaceSelector).replace(/,/g, ' ')} (or widen spec.${fields.namespaceSelector})`,
    };
  return undefined;
}

/** Running: the operator reports it Available (or, before status conditions existed, available replicas). */
export function isRunning(owner: KubeObject): boolean {
  const status = (owner.status ?? {}) as {
    availableReplicas?: number;
    conditions?: { type: string; status: string }[];
  };
  const available = status.conditions?.find((condition) => condition.type === 'Available');
  if (available) return available.status === 'True' || available.status === 'Degraded';
  return (status.availableReplicas ?? 0) > 0;
}
