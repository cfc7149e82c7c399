import { type Check, type CheckResult, fail, pass, skip } from '../check.ts';
import type { KubeObject } from '../cluster.ts';
import { isReady, whyNotReady } from '../conditions.ts';
import { resources } from '../resources.ts';
import { shippedOfKind } from '../shipped.ts';
import { missingCrds } from './knative.ts';

interface TriggerSpec {
  subscriber?: { ref?: { name?: string } };
  delivery?: { deadLetterSink?: { ref?: { name?: string } } };
}

/**
 * Every Trigger of eventing/: Ready, its subscriber resolved to status.subscriberUri and, as each of
 * ours declares one, its dead-letter sink to status.deadLetterSinkUri (without it a chain that fails
 * for good never gives its tokens back until their leases expire).
 */
export const triggers: Check = {
  name: 'triggers',
  needsCluster: true,
  async run(context) {
    const missing = await missingCrds(context, [resources.Trigger]);
    if (missing.length) return [skip('triggers', `Triggers not checked: ${missing.join(', ')} missing`)];
    return Promise.all(
      shippedOfKind(context.shipped, 'Trigger').map(async (shipped): Promise<CheckResult> => {
        const { namespace = 'heapdump', name } = shipped.metadata;
        const live = await context.cluster.get(resources.Trigger, namespace, name);
        if (!live)
          return fail(
            'trigger',
            `Trigger ${namespace}/${name} does not exist`,
            'kubectl apply -k eventing/ (docs/deploy.md step 5)',
          );
        return triggerResult(shipped, live);
      }),
    );
  },
};

function triggerResult(shipped: KubeObject, live: KubeObject): CheckResult {
  const { namespace, name } = live.metadata;
  const what = `Trigger ${namespace}/${name}`;
  const spec = shipped.spec as TriggerSpec;
  const status = (live.status ?? {}) as { subscriberUri?: string; deadLetterSinkUri?: string };
  const subscriber = spec.subscriber?.ref?.name;
  const deadLetterSink = spec.delivery?.deadLetterSink?.ref?.name;
  const deploy = (fn: string | undefined) => `deploy ksvc/${fn} (func deploy, docs/deploy.md step 4)`;
  const problems: { text: string; fix: string }[] = [];
  if (!status.subscriberUri)
    problems.push({
      text: `no status.subscriberUri (subscriber ksvc/${subscriber} not resolved)`,
      fix: deploy(subscriber),
    });
  if (deadLetterSink && !status.deadLetterSinkUri)
    problems.push({
      text: `no status.deadLetterSinkUri (dead-letter sink ksvc/${deadLetterSink} not resolved: failed events would be dropped with their tokens)`,
      fix: deploy(deadLetterSink),
    });
  if (!isReady(live))
    problems.push({
      text: `not Ready: ${whyNotReady(live)}`,
      fix: `kubectl -n ${namespace} describe trigger ${name}`,
    });
  if (problems.length)
    return fail(
      'trigger',
      `${what}: ${problems.map((problem) => problem.text).join('; ')}`,
      problems[0]!.fix,
    );
  const dead = status.deadLetterSinkUri ? `, dead letters to ${status.deadLetterSinkUri}` : '';
  return pass('trigger', `${what} Ready, delivers to ${status.subscriberUri}${dead}`);
}
