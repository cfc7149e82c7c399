import { type Check, fail, pass } from '../check.ts';
import { names, optedInNamespaces, podSource, serviceAccountSubject } from '../opted-in.ts';

const verbs = ['get', 'list', 'watch'];

/**
 * The ApiServerSource's ServiceAccount may get, list and watch pods in every opted-in namespace (the same
 * SubjectAccessReviews its controller makes before it marks SufficientPermissions: knative/eventing
 * pkg/reconciler/apiserversource/apiserversource.go); with the counts of opted-in namespaces and pods.
 */
export const podWatcher: Check = {
  name: 'pod-watcher',
  needsCluster: true,
  async run(context) {
    const source = podSource(context);
    const namespaces = await optedInNamespaces(context);
    if (!namespaces.length)
      return [
        fail(
          'opted-in',
          `no namespace is opted in (${source.namespaceSelector}): no pod will be watched or dumped`,
          `kubectl label namespace <ns> ${source.namespaceSelector.replace(/,/g, ' ')}, and apply infra/target-namespace/ there (see infra/example/)`,
        ),
      ];
    const pods = await Promise.all(
      namespaces.map((namespace) => context.cluster.pods(namespace.metadata.name, source.podSelector)),
    );
    const podCount = pods.reduce((sum, list) => sum + list.length, 0);
    const subject = serviceAccountSubject(source.namespace, source.serviceAccount);
    const denied = await Promise.all(
      namespaces.map(async (namespace) => {
        const answers = await Promise.all(
          verbs.map((verb) =>
            context.cluster.canI({
              ...subject,
              namespace: namespace.metadata.name,
              verb,
              group: '',
              resource: 'pods',
            }),
          ),
        );
        const missing = verbs.filter((_, i) => !answers[i]!.allowed);
        return missing.length ? `${missing.join(', ')} pods in ${namespace.metadata.name}` : undefined;
      }),
    );
    const deniedIn = namespaces.filter((_, i) => denied[i]);
    const counts = `${namespaces.length} opted-in namespace(s) (${names(namespaces)}), ${podCount} opted-in pod(s)`;
    const account = `ServiceAccount ${source.namespace}/${source.serviceAccount} (the ApiServerSource's)`;
    if (deniedIn.length)
      return [
        fail(
          'pod-watcher',
          `${account} may not ${denied.filter(Boolean).join('; ')}: pod restarts there go unseen; ${counts}`,
          `apply infra/target-namespace/ in ${names(deniedIn)} (RoleBinding heapdump-pod-watcher; see infra/example/kustomization.yaml)`,
        ),
      ];
    return [pass('pod-watcher', `${account} may get, list, watch pods in all ${counts}`)];
  },
};
