import { type Check, type CheckResult, type DoctorContext, fail, pass, skip } from '../check.ts';
import { optedInNamespaces, serviceAccountSubject } from '../opted-in.ts';
import type { FunctionNeeds } from '../shipped.ts';

/**
 * Each function's ServiceAccount exists and may make exactly the Kubernetes calls its meta.ts declares
 * (`get pods`, `create pods/exec`, ...) in every opted-in namespace, asked with SubjectAccessReviews.
 */
export const functionRbac: Check = {
  name: 'function-rbac',
  needsCluster: true,
  async run(context) {
    const namespaces = (await optedInNamespaces(context)).map((namespace) => namespace.metadata.name);
    return Promise.all(context.shipped.functions.map((fn) => functionResult(context, fn, namespaces)));
  },
};

async function functionResult(
  context: DoctorContext,
  fn: FunctionNeeds,
  namespaces: string[],
): Promise<CheckResult> {
  const check = `rbac ${fn.name}`;
  const account = `ServiceAccount ${fn.namespace}/${fn.serviceAccount}`;
  if (!(await context.cluster.serviceAccount(fn.namespace, fn.serviceAccount)))
    return fail(
      check,
      `${fn.name}: ${account} does not exist`,
      'kubectl apply -k infra/ (infra/heapdump/service-accounts.yaml)',
    );
  if (!fn.kubernetes.length)
    return pass(check, `${fn.name}: ${account} exists; the function makes no Kubernetes API calls`);
  if (!namespaces.length) return skip(check, `${fn.name}: no opted-in namespace to check its RBAC in`);
  const subject = serviceAccountSubject(fn.namespace, fn.serviceAccount);
  const questions = namespaces.flatMap((namespace) =>
    fn.kubernetes.map((pair) => {
      const [verb, path] = pair.split(' ') as [string, string];
      const [resource, subresource] = path.split('/') as [string, string | undefined];
      return { namespace, pair, question: { ...subject, namespace, verb, group: '', resource, subresource } };
    }),
  );
  const answers = await Promise.all(questions.map(({ question }) => context.cluster.canI(question)));
  const denied = questions.filter((_, i) => !answers[i]!.allowed);
  if (denied.length) {
    const where = [...new Set(denied.map((question) => question.namespace))];
    const what = where
      .map(
        (namespace) =>
          `${denied
            .filter((q) => q.namespace === namespace)
            .map((q) => q.pair)
            .join(', ')} in ${namespace}`,
      )
      .join('; ');
    return fail(
      check,
      `${fn.name}: ${account} may not ${what}`,
      `apply infra/target-namespace/ in ${where.join(', ')} (RoleBinding heapdump-${fn.name} to ClusterRole heapdump-${fn.name})`,
    );
  }
  return pass(check, `${fn.name}: ${account} may ${fn.kubernetes.join(', ')} in ${namespaces.join(', ')}`);
}
