import { type Check, type CheckResult, fail, pass, skip } from '../check.ts';
import type { KubeObject } from '../cluster.ts';
import { isReady, whyNotReady } from '../conditions.ts';
import { type ResourceKind, resources } from '../resources.ts';
import { shippedOfKind } from '../shipped.ts';
import { missingCrds } from './knative.ts';

const kinds = ['Broker', 'ApiServerSource', 'PingSource', 'SinkBinding'] as const satisfies ResourceKind[];

/** Why each kind may not become ready, and where to look: the fix line of a not-Ready object. */
const notReadyFix: Record<(typeof kinds)[number], (object: KubeObject) => string> = {
  Broker: (broker) =>
    `kubectl -n ${broker.metadata.namespace} describe broker ${broker.metadata.name}; the Broker needs a default class (config-br-defaults in knative-eventing) whose ingress and filter pods run`,
  ApiServerSource: (source) =>
    `kubectl -n ${source.metadata.namespace} describe apiserversource ${source.metadata.name}; its ServiceAccount needs get/list/watch pods in every opted-in namespace (apply infra/target-namespace/ there)`,
  PingSource: (source) =>
    `kubectl -n ${source.metadata.namespace} describe pingsource ${source.metadata.name}; its sink, the Broker, must be Ready`,
  SinkBinding: (binding) =>
    `kubectl -n ${binding.metadata.namespace} describe sinkbinding ${binding.metadata.name}; its subject ksvc/${(binding.spec as { subject?: { name?: string } })?.subject?.name} must exist (func deploy, docs/deploy.md step 4)`,
};

/** The Broker and the sources we ship (ApiServerSource, PingSource, SinkBindings): present and Ready. */
export const eventingObjects: Check = {
  name: 'eventing-objects',
  needsCluster: true,
  async run(context) {
    const missing = await missingCrds(
      context,
      kinds.map((kind) => resources[kind]),
    );
    const shipped = kinds.flatMap((kind) => shippedOfKind(context.shipped, kind));
    if (missing.length)
      return [
        skip(
          'eventing-objects',
          `Broker and sources not checked: Knative Eventing CRDs missing (${missing.join(', ')})`,
        ),
      ];
    return Promise.all(
      shipped.map(async (object): Promise<CheckResult> => {
        const kind = object.kind as (typeof kinds)[number];
        const { namespace = 'heapdump', name } = object.metadata;
        const what = `${kind} ${namespace}/${name}`;
        const live = await context.cluster.get(resources[kind], namespace, name);
        if (!live)
          return fail(kind, `${what} does not exist`, 'kubectl apply -k eventing/ (docs/deploy.md step 5)');
        if (!isReady(live))
          return fail(kind, `${what} is not Ready: ${whyNotReady(live)}`, notReadyFix[kind](live));
        const status = (live.status ?? {}) as { address?: { url?: string }; sinkUri?: string };
        const where = status.address?.url ? `at ${status.address.url}` : `sink ${status.sinkUri ?? '(none)'}`;
        return pass(kind, `${what} Ready, ${where}`);
      }),
    );
  },
};
