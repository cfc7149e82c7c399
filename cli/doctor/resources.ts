import type { ResourceRef } from './cluster.ts';

/** The custom resources the doctor reads, by kind: where they are served. */
export const resources = {
  KnativeService: { group: 'serving.knative.dev', version: 'v1', plural: 'services' },
  Broker: { group: 'eventing.knative.dev', version: 'v1', plural: 'brokers' },
  Trigger: { group: 'eventing.knative.dev', version: 'v1', plural: 'triggers' },
  ApiServerSource: { group: 'sources.knative.dev', version: 'v1', plural: 'apiserversources' },
  PingSource: { group: 'sources.knative.dev', version: 'v1', plural: 'pingsources' },
  SinkBinding: { group: 'sources.knative.dev', version: 'v1', plural: 'sinkbindings' },
  Prometheus: { group: 'monitoring.coreos.com', version: 'v1', plural: 'prometheuses' },
  Alertmanager: { group: 'monitoring.coreos.com', version: 'v1', plural: 'alertmanagers' },
  PrometheusRule: { group: 'monitoring.coreos.com', version: 'v1', plural: 'prometheusrules' },
  AlertmanagerConfig: { group: 'monitoring.coreos.com', version: 'v1alpha1', plural: 'alertmanagerconfigs' },
} satisfies Record<string, ResourceRef>;

export type ResourceKind = keyof typeof resources;

/** The CustomResourceDefinition's name: `<plural>.<group>`. */
export const crdName = (resource: ResourceRef) => `${resource.plural}.${resource.group}`;

/** The label every object of ours carries (the kustomizations set it). */
export const partOfOurs = 'app.kubernetes.io/part-of=knative-heapdump';
