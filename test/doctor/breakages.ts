/**
 * The preconditions test/doctor/doctor.test.ts breaks, one at a time, on the deployed stack, with the
 * checks that must fail and the message and fix each must print.
 */
import type { KubeObject } from '../../dev/kube-emulator/index.ts';
import type { DoctorCluster } from './cluster.ts';

const now = new Date().toISOString();
const condition = (type: string, status: string, reason?: string, message?: string) => ({
  type,
  status,
  lastTransitionTime: now,
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});
const setCondition = (object: KubeObject, next: ReturnType<typeof condition>) => {
  const status = object.status as { conditions: { type: string }[] };
  status.conditions = status.conditions.map((existing) => (existing.type === next.type ? next : existing));
};

export interface Breakage {
  name: string;
  breakIt(cluster: DoctorCluster): void;
  /** The checks that fail, each with its message and fix. */
  expected: { check: string; message: RegExp; fix: RegExp }[];
}

// Failure shapes as upstream writes them: knative/eventing pkg/apis/eventing/v1/broker_lifecycle_mt.go
// (ingress without endpoints), pkg/reconciler/broker/trigger/trigger.go (dead-letter sink not resolved).
export const breakages: Breakage[] = [
  {
    name: 'the Broker not Ready',
    breakIt: (c) =>
      c.edit('eventing.knative.dev/v1', 'Broker', 'heapdump', 'heapdump', (broker) => {
        for (const type of ['IngressReady', 'Ready'])
          setCondition(
            broker,
            condition(type, 'False', 'EndpointSlicesUnavailable', 'EndpointSlices are unavailable.'),
          );
      }),
    expected: [
      {
        check: 'Broker',
        message:
          /^Broker heapdump\/heapdump is not Ready: Ready False \(EndpointSlicesUnavailable: EndpointSlices are unavailable\.\); IngressReady False/,
        fix: /^kubectl -n heapdump describe broker heapdump; the Broker needs a default class/,
      },
    ],
  },
  {
    name: 'a Trigger without deadLetterSinkUri',
    breakIt: (c) =>
      c.edit('eventing.knative.dev/v1', 'Trigger', 'heapdump', 'exec-dump-dump-approved', (trigger) => {
        delete (trigger.status as { deadLetterSinkUri?: string }).deadLetterSinkUri;
        const reason = "Unable to get the dead letter sink's URI";
        const message = 'services.serving.knative.dev "release-token" not found';
        for (const type of ['DeadLetterSinkResolved', 'Ready'])
          setCondition(trigger, condition(type, 'False', reason, message));
      }),
    expected: [
      {
        check: 'trigger',
        message:
          /^Trigger heapdump\/exec-dump-dump-approved: no status\.deadLetterSinkUri \(dead-letter sink ksvc\/release-token not resolved.*; not Ready: Ready False/,
        fix: /^deploy ksvc\/release-token \(func deploy, docs\/deploy\.md step 4\)$/,
      },
    ],
  },
  {
    name: 'a Trigger that does not exist',
    breakIt: (c) => c.drop('eventing.knative.dev/v1', 'Trigger', 'heapdump', 'release-token-sweep'),
    expected: [
      {
        check: 'trigger',
        message: /^Trigger heapdump\/release-token-sweep does not exist$/,
        fix: /^kubectl apply -k eventing\//,
      },
    ],
  },
  {
    name: 'a missing Secret key',
    breakIt: (c) =>
      c.edit('v1', 'Secret', 'heapdump', 'heapdump-redis', (secret) => {
        delete (secret.data as Record<string, string>).token;
      }),
    expected: ['decide-dump', 'exec-dump', 'upload-dump', 'release-token'].map((fn) => ({
      check: `secrets ${fn}`,
      message: new RegExp(
        `^${fn}: Secret heapdump/heapdump-redis lacks key token \\(read through REDIS_REST_TOKEN_FILE\\)$`,
      ),
      fix: /^kubectl -n heapdump delete secret heapdump-redis, then kubectl -n heapdump create secret generic heapdump-redis --from-file=token=<file>/,
    })),
  },
  {
    name: 'a ServiceAccount without pods/exec in an opted-in namespace',
    breakIt: (c) =>
      c.edit('rbac.authorization.k8s.io/v1', 'ClusterRole', undefined, 'heapdump-exec-dump', (role) => {
        role.rules = (role.rules as { resources: string[] }[]).filter(
          (rule) => !rule.resources.includes('pods/exec'),
        );
      }),
    expected: [
      {
        check: 'rbac exec-dump',
        message:
          /^exec-dump: ServiceAccount heapdump\/exec-dump may not get pods\/exec, create pods\/exec in heapdump-example$/,
        fix: /^apply infra\/target-namespace\/ in heapdump-example \(RoleBinding heapdump-exec-dump to ClusterRole heapdump-exec-dump\)$/,
      },
    ],
  },
  {
    name: 'an opted-in namespace without our RoleBindings and route',
    breakIt: (c) =>
      c.add({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'team-b', labels: { 'heapdump.dev/enabled': 'true' } },
      }),
    expected: [
      {
        check: 'pod-watcher',
        message:
          /heapdump-pod-watcher \(the ApiServerSource's\) may not get, list, watch pods in team-b: .*2 opted-in namespace\(s\) \(heapdump-example, team-b\)/,
        fix: /^apply infra\/target-namespace\/ in team-b \(RoleBinding heapdump-pod-watcher/,
      },
      ...['decide-dump', 'exec-dump', 'upload-dump'].map((fn) => ({
        check: `rbac ${fn}`,
        message: new RegExp(`^${fn}: ServiceAccount heapdump/${fn} may not .* in team-b$`),
        fix: new RegExp(`^apply infra/target-namespace/ in team-b \\(RoleBinding heapdump-${fn}`),
      })),
      {
        check: 'alertmanager-configs',
        message: /^opted-in namespace\(s\) team-b have no AlertmanagerConfig/,
        fix: /^apply infra\/alerting\/prometheus-operator\/route\/ .* in team-b/,
      },
    ],
  },
  {
    name: 'a PrometheusRule not selected by ruleSelector',
    breakIt: (c) =>
      c.edit('monitoring.coreos.com/v1', 'Prometheus', 'monitoring', 'k8s', (prometheus) => {
        (prometheus.spec as Record<string, unknown>).ruleSelector = { matchLabels: { release: 'kps' } };
      }),
    expected: [
      {
        check: 'prometheus-rules',
        message:
          /^PrometheusRule heapdump-example\/heapdump-high-memory-usage is picked up by no running Prometheus: Prometheus monitoring\/k8s spec\.ruleSelector \(release=kps\) does not match/,
        fix: /^add the label\(s\) release=kps to PrometheusRule heapdump-example\/heapdump-high-memory-usage/,
      },
    ],
  },
  {
    name: 'a Prometheus without ruleSelector (nil selects nothing)',
    breakIt: (c) =>
      c.edit('monitoring.coreos.com/v1', 'Prometheus', 'monitoring', 'k8s', (prometheus) => {
        delete (prometheus.spec as Record<string, unknown>).ruleSelector;
      }),
    expected: [
      {
        check: 'prometheus-rules',
        message: /Prometheus monitoring\/k8s has no spec\.ruleSelector, so it selects no PrometheusRule$/,
        fix: /^set spec\.ruleSelector on Prometheus monitoring\/k8s \(\{\} selects all/,
      },
    ],
  },
  {
    name: 'a Prometheus without ruleNamespaceSelector (nil reads its own namespace only)',
    breakIt: (c) =>
      c.edit('monitoring.coreos.com/v1', 'Prometheus', 'monitoring', 'k8s', (prometheus) => {
        delete (prometheus.spec as Record<string, unknown>).ruleNamespaceSelector;
      }),
    expected: [
      {
        check: 'prometheus-rules',
        message:
          /has no spec\.ruleNamespaceSelector, so it reads only its own namespace monitoring, not heapdump-example$/,
        fix: /^set spec\.ruleNamespaceSelector on Prometheus monitoring\/k8s/,
      },
    ],
  },
  {
    name: 'an AlertmanagerConfig in a namespace the Alertmanager does not select',
    breakIt: (c) =>
      c.edit('monitoring.coreos.com/v1', 'Alertmanager', 'monitoring', 'main', (alertmanager) => {
        (alertmanager.spec as Record<string, unknown>).alertmanagerConfigNamespaceSelector = {
          matchLabels: { alerting: 'on' },
        };
      }),
    expected: [
      {
        check: 'alertmanager-configs',
        message:
          /^AlertmanagerConfig heapdump-example\/heapdump is picked up by no running Alertmanager: .*alertmanagerConfigNamespaceSelector \(alerting=on\) does not select namespace heapdump-example$/,
        fix: /^kubectl label namespace heapdump-example alerting=on/,
      },
    ],
  },
  {
    name: 'no running Prometheus',
    breakIt: (c) =>
      c.edit('monitoring.coreos.com/v1', 'Prometheus', 'monitoring', 'k8s', (prometheus) => {
        const status = prometheus.status as {
          availableReplicas: number;
          conditions: { type: string; status: string }[];
        };
        status.availableReplicas = 0;
        status.conditions = status.conditions.map((c) =>
          c.type === 'Available' ? { ...c, status: 'False' } : c,
        );
      }),
    expected: [
      { check: 'prometheus-rules', message: /^no running Prometheus/, fix: /kubectl get prometheus -A/ },
    ],
  },
  {
    name: 'the ApiServerSource without sufficient permissions',
    breakIt: (c) =>
      c.edit('sources.knative.dev/v1', 'ApiServerSource', 'heapdump', 'heapdump-pods', (source) => {
        const message =
          'User system:serviceaccount:heapdump:heapdump-pod-watcher cannot get, list, watch resource "pods" in API group "" in Namespace "heapdump-example"';
        for (const type of ['SufficientPermissions', 'Ready'])
          setCondition(source, condition(type, 'False', 'Forbidden', message));
      }),
    expected: [
      {
        check: 'ApiServerSource',
        message:
          /^ApiServerSource heapdump\/heapdump-pods is not Ready: Ready False \(Forbidden: User system:serviceaccount/,
        fix: /describe apiserversource heapdump-pods; its ServiceAccount needs get\/list\/watch pods/,
      },
    ],
  },
  {
    name: 'Knative Eventing missing a CRD',
    breakIt: (c) =>
      c.drop(
        'apiextensions.k8s.io/v1',
        'CustomResourceDefinition',
        undefined,
        'triggers.eventing.knative.dev',
      ),
    expected: [
      {
        check: 'knative-eventing',
        message: /^Knative Eventing is not installed as needed: triggers\.eventing\.knative\.dev missing$/,
        fix: /^install Knative Eventing .*https:\/\/knative\.dev\/docs\/install/,
      },
    ],
  },
];
