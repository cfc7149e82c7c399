import type { DoctorContext } from './check.ts';
import type { KubeObject } from './cluster.ts';
import { type LabelSelector, selectorText } from './label-selector.ts';
import { shippedOfKind } from './shipped.ts';

/** The ApiServerSource we ship: it defines what "opted in" means (its namespace and pod selectors). */
export function podSource(context: DoctorContext) {
  const source = shippedOfKind(context.shipped, 'ApiServerSource')[0];
  const spec = (source?.spec ?? {}) as {
    serviceAccountName?: string;
    namespaceSelector?: LabelSelector;
    resources?: { kind: string; selector?: LabelSelector }[];
  };
  return {
    object: source,
    namespace: source?.metadata.namespace ?? 'heapdump',
    serviceAccount: spec.serviceAccountName ?? 'default',
    namespaceSelector: selectorText(
      spec.namespaceSelector ?? { matchLabels: { 'heapdump.dev/enabled': 'true' } },
    ),
    podSelector: selectorText(spec.resources?.find((resource) => resource.kind === 'Pod')?.selector ?? {}),
  };
}

/** Namespaces whose pods may be dumped: those the ApiServerSource's namespaceSelector selects. */
export async function optedInNamespaces(context: DoctorContext): Promise<KubeObject[]> {
  return context.cluster.namespaces(podSource(context).namespaceSelector);
}

/** A service account as the API server authenticates its token: user name and groups. */
export function serviceAccountSubject(namespace: string, name: string) {
  return {
    user: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

export const names = (objects: KubeObject[]) => objects.map((object) => object.metadata.name).join(', ');
