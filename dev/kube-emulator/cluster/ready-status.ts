import type { KubeObject } from '../resource-types.ts';

export interface ReadyContext {
  /** lastTransitionTime of every condition. */
  now: string;
  /** What an ApiServerSource's namespaceSelector matches (its status.namespaces). */
  optedInNamespaces: string[];
}

type Status = Record<string, unknown>;

/**
 * The status a controller writes once an object is ready, for the kinds knative-heapdump ships or reads;
 * other kinds are returned as they are. Each shape is taken from upstream's own test data (named at
 * each kind). Knative sorts conditions by type (knative/pkg apis/condition_set.go), so do we.
 */
export function withReadyStatus(object: KubeObject, context: ReadyContext): KubeObject {
  const status = readyStatusOf(object, context);
  return status ? { ...object, status } : object;
}

function readyStatusOf(object: KubeObject, context: ReadyContext): Status | undefined {
  const { namespace = 'default', name } = object.metadata;
  const conditions = (...types: (string | [string, string, string?])[]) =>
    types
      .map((type) => (typeof type === 'string' ? [type, '', ''] : type))
      .sort(([a], [b]) => a!.localeCompare(b!))
      .map(([type, reason, message]) => ({
        type,
        status: 'True',
        lastTransitionTime: context.now,
        ...(reason ? { reason } : {}),
        ...(message ? { message } : {}),
      }));
  // Reason knative writes when the authentication-oidc feature is off (its default):
  // knative/eventing pkg/reconciler/testing/v1/trigger.go WithTriggerOIDCIdentityCreatedSucceededBecauseOIDCFeatureDisabled.
  const oidcOff: [string, string] = ['OIDCIdentityCreated', 'authentication-oidc feature disabled'];
  const spec = (object.spec ?? {}) as {
    sink?: Destination;
    subscriber?: Destination;
    delivery?: { deadLetterSink?: Destination };
  };

  switch (object.kind) {
    // knative/eventing pkg/apis/eventing/v1/test_helper.go ReadyBrokerStatusWithoutDLS (our Broker sets no
    // delivery), JSON names from pkg/apis/eventing/v1/broker_types.go BrokerStatus.
    case 'Broker':
      return {
        observedGeneration: 1,
        conditions: conditions(
          'Addressable',
          ['DeadLetterSinkResolved', 'DeadLetterSinkNotConfigured', 'No dead letter sink is configured.'],
          'EventPoliciesReady',
          'FilterReady',
          'IngressReady',
          'Ready',
          'TriggerChannelReady',
        ),
        address: { name: 'http', url: brokerUrl(namespace, name) },
      };
    // knative/eventing pkg/reconciler/broker/trigger/trigger_test.go (the status updates of a Trigger with a
    // subscriber and a dead-letter sink), JSON names from pkg/apis/eventing/v1/trigger_types.go TriggerStatus.
    case 'Trigger':
      return {
        observedGeneration: 1,
        conditions: conditions(
          'BrokerReady',
          'DeadLetterSinkResolved',
          'DependencyReady',
          oidcOff,
          'Ready',
          'SubscriberResolved',
          'SubscriptionReady',
        ),
        subscriberUri: resolve(spec.subscriber, namespace),
        ...(spec.delivery?.deadLetterSink
          ? { deadLetterSinkUri: resolve(spec.delivery.deadLetterSink, namespace) }
          : {}),
      };
    // knative/eventing pkg/reconciler/apiserversource/apiserversource_test.go (Deployed, SinkProvided,
    // SufficientPermissions, status namespaces), JSON names from pkg/apis/sources/v1/apiserver_types.go.
    case 'ApiServerSource':
      return {
        observedGeneration: 1,
        conditions: conditions('Deployed', oidcOff, 'Ready', 'SinkProvided', 'SufficientPermissions'),
        sinkUri: resolve(spec.sink, namespace),
        namespaces: context.optedInNamespaces,
      };
    // knative/eventing pkg/reconciler/pingsource/pingsource_test.go and pkg/reconciler/testing/v1/pingsource.go
    // (WithPingSourceDeployed, WithPingSourceSink, WithPingSourceCloudEventAttributes).
    case 'PingSource':
      return {
        observedGeneration: 1,
        conditions: conditions('Deployed', oidcOff, 'Ready', 'SinkProvided'),
        sinkUri: resolve(spec.sink, namespace),
        ceAttributes: [
          {
            type: 'dev.knative.sources.ping',
            source: `/apis/v1/namespaces/${namespace}/pingsources/${name}`,
          },
        ],
      };
    // knative/eventing pkg/apis/sources/v1/sinkbinding_lifecycle_test.go "mark available".
    case 'SinkBinding':
      return {
        observedGeneration: 1,
        conditions: conditions(
          oidcOff,
          'OIDCTokenSecretCreated',
          'Ready',
          'SinkBindingAvailable',
          'SinkProvided',
          'TrustBundlePropagated',
        ),
        sinkUri: resolve(spec.sink, namespace),
      };
    // prometheus-operator Documentation/proposals/implemented/202409-status-subresource.md: the example
    // status of a Prometheus whose pods all run (Alertmanager: the same without shards).
    case 'Prometheus':
    case 'Alertmanager': {
      const replicas = ((object.spec as { replicas?: number } | undefined)?.replicas ?? 1) as number;
      const operatorCondition = (type: string) => ({
        lastTransitionTime: context.now,
        message: '',
        observedGeneration: 1,
        reason: '',
        status: 'True',
        type,
      });
      return {
        availableReplicas: replicas,
        conditions: [operatorCondition('Available'), operatorCondition('Reconciled')],
        paused: false,
        replicas,
        unavailableReplicas: 0,
        updatedReplicas: replicas,
      };
    }
    default:
      return undefined;
  }
}

interface Destination {
  ref?: { apiVersion: string; kind: string; name: string; namespace?: string };
  uri?: string;
}

/** The MT channel-based Broker's ingress address (docs/deploy.md step 7 shows the same). */
export function brokerUrl(namespace: string, name: string): string {
  return `http://broker-ingress.knative-eventing.svc.cluster.local/${namespace}/${name}`;
}

/** What a Destination resolves to: a Broker's ingress, or a cluster-local Knative Service's address. */
function resolve(destination: Destination | undefined, namespace: string): string | undefined {
  if (!destination?.ref) return destination?.uri;
  const where = destination.ref.namespace ?? namespace;
  if (destination.ref.kind === 'Broker') return brokerUrl(where, destination.ref.name);
  return `http://${destination.ref.name}.${where}.svc.cluster.local`;
}
