/**
 * eventing/policy/: the EventPolicies that lock the Broker on clusters with Knative's authentication-oidc.
 * The senders are derived from `kubectl kustomize eventing/`, not listed here, so a Trigger or source
 * added to the wiring without an entry in eventing/policy/eventpolicy.yaml fails this file.
 */
import { describe, expect, it } from 'vitest';
import { EventTypes } from '../../functions/lib/events/index.ts';
import { type KubeObject, objectName, ofKind, renderKustomization, schemaProblems } from './manifests.ts';

const eventing = renderKustomization('eventing');
const policyDir = renderKustomization('eventing/policy');
const policies = ofKind(policyDir, 'EventPolicy');
const [broker] = ofKind(eventing, 'Broker');
const namespace = broker?.metadata.namespace;

const policyNamed = (name: string): KubeObject | undefined =>
  policies.find((policy) => policy.metadata.name === name);
const senderPolicy = policyNamed('heapdump-senders');
const operatorPolicy = policyNamed('heapdump-operator');
const operatorAccount = ofKind(policyDir, 'ServiceAccount').find(
  (account) => account.metadata.name === 'heapdump-operator',
);

interface Reference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}
const refKey = (ref: Reference): string => `${ref.apiVersion} ${ref.kind} ${ref.name}`;
const brokerKey = refKey({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  name: broker?.metadata.name,
});

const isTheBroker = (ref: Reference | undefined, from: KubeObject): boolean =>
  ref !== undefined && refKey(ref) === brokerKey && (ref.namespace ?? from.metadata.namespace) === namespace;

/**
 * Who sends to the Broker: every object whose sink is the Broker (ApiServerSource, PingSource,
 * SinkBinding, any other source), each with its own OIDC identity, and every Trigger of the Broker,
 * because broker-filter posts a subscriber's reply with the Trigger's identity.
 */
const senders = eventing.filter(
  (object) =>
    (object.kind === 'Trigger' && object.spec?.broker === broker?.metadata.name) ||
    isTheBroker(object.spec?.sink?.ref, object),
);
const senderKeys = senders.map(({ apiVersion, kind, metadata }) =>
  refKey({ apiVersion, kind, name: metadata.name }),
);

/**
 * The admission webhook's rules for an EventPolicy, which the JSON schema does not express (knative/eventing
 * pkg/apis/eventing/v1alpha1/eventpolicy_validation.go): each `from` has either `ref` or `sub`, each `to`
 * either `ref` or `selector`, every ref has apiVersion, kind and name, and `*` only ends a `sub`.
 */
function webhookProblems(policy: KubeObject): string[] {
  const problems: string[] = [];
  const refProblems = (ref: Reference, at: string) => {
    for (const field of ['apiVersion', 'kind', 'name'] as const) {
      if (!ref[field]) problems.push(`${at}.ref.${field} missing`);
    }
  };
  (policy.spec?.from ?? []).forEach((from: { ref?: Reference; sub?: string }, i: number) => {
    if (Boolean(from.ref) === Boolean(from.sub)) problems.push(`from[${i}]: exactly one of ref, sub`);
    if (from.ref) refProblems(from.ref, `from[${i}]`);
    if (from.sub?.slice(0, -1).includes('*')) problems.push(`from[${i}].sub: '*' only as suffix`);
  });
  (policy.spec?.to ?? []).forEach((to: { ref?: Reference; selector?: unknown }, i: number) => {
    if (Boolean(to.ref) === Boolean(to.selector)) problems.push(`to[${i}]: exactly one of ref, selector`);
    if (to.ref) refProblems(to.ref, `to[${i}]`);
  });
  return problems;
}

describe('kubectl kustomize eventing/policy/', () => {
  it('renders the two EventPolicies and the operators ServiceAccount, in the namespace of the Broker', () => {
    expect(policyDir.map(objectName).sort()).toEqual(
      [
        `EventPolicy ${namespace}/heapdump-operator`,
        `EventPolicy ${namespace}/heapdump-senders`,
        `ServiceAccount ${namespace}/heapdump-operator`,
      ].sort(),
    );
    expect(namespace).toBe('heapdump');
  });

  it.each(policyDir.map((object): [string, KubeObject] => [objectName(object), object]))(
    '%s validates against its schema',
    async (_name, object) => {
      expect(await schemaProblems(object)).toEqual([]);
    },
  );

  it.each(policies.map((policy): [string, KubeObject] => [objectName(policy), policy]))(
    '%s passes the rules of the EventPolicy webhook',
    (_name, policy) => {
      expect(webhookProblems(policy)).toEqual([]);
    },
  );

  it.each(policies.map((policy): [string, KubeObject] => [objectName(policy), policy]))(
    '%s applies to the Broker heapdump, and only to it',
    (_name, policy) => {
      expect(broker?.metadata.name).toBe('heapdump');
      expect(policy.spec.to).toEqual([
        { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'heapdump' } },
      ]);
    },
  );
});

describe('EventPolicy heapdump-senders', () => {
  const from: { ref?: Reference; sub?: string }[] = senderPolicy?.spec?.from ?? [];

  it('the senders derived from eventing/ are the sources, the SinkBindings and every Trigger', () => {
    expect(senderKeys).toEqual(
      expect.arrayContaining([
        'sources.knative.dev/v1 ApiServerSource heapdump-pods',
        'sources.knative.dev/v1 PingSource heapdump-sweep',
        'sources.knative.dev/v1 SinkBinding alert-bridge',
        'sources.knative.dev/v1 SinkBinding release-token',
      ]),
    );
    const triggers = ofKind(eventing, 'Trigger');
    expect(triggers.length).toBeGreaterThan(0);
    expect(senders.filter((object) => object.kind === 'Trigger')).toEqual(triggers);
  });

  it('the SinkBindings bind alert-bridge and release-token, the two functions that post to K_SINK', () => {
    const subjects = senders
      .filter((object) => object.kind === 'SinkBinding')
      .map((binding) => `${binding.spec.subject.kind} ${binding.spec.subject.name}`);
    expect(subjects.sort()).toEqual(['Service alert-bridge', 'Service release-token']);
  });

  it('has exactly one entry per sender, each a ref the controller resolves to its OIDC identity', () => {
    expect(from.filter((entry) => !entry.ref)).toEqual([]);
    expect(from.map((entry) => refKey(entry.ref ?? {})).sort()).toEqual([...senderKeys].sort());
  });

  it("leaves each ref's namespace to default to its own, the Broker's", () => {
    expect(from.filter((entry) => entry.ref?.namespace && entry.ref.namespace !== namespace)).toEqual([]);
  });

  it('has no filters (they would hold for every sender)', () => {
    expect(senderPolicy?.spec?.filters).toBeUndefined();
  });
});

describe('EventPolicy heapdump-operator', () => {
  it("admits the ServiceAccount heapdump-operator's tokens, and nothing else", () => {
    expect(operatorAccount?.metadata.namespace).toBe(namespace);
    expect(operatorPolicy?.spec?.from).toEqual([
      {
        sub: `system:serviceaccount:${operatorAccount?.metadata.namespace}:${operatorAccount?.metadata.name}`,
      },
    ]);
  });

  it('lets operators send dump requests only (what `heapdump trigger` sends)', () => {
    expect(operatorPolicy?.spec?.filters).toEqual([{ exact: { type: EventTypes.dumpRequested } }]);
  });

  it('names a ServiceAccount no pod runs as', () => {
    expect(operatorAccount?.automountServiceAccountToken).toBe(false);
  });
});

describe('the checks themselves', () => {
  const broken: KubeObject = {
    apiVersion: 'eventing.knative.dev/v1alpha1',
    kind: 'EventPolicy',
    metadata: { name: 'broken' },
    spec: {
      to: [{ ref: { name: 'heapdump' } }],
      from: [{ ref: { kind: 'Trigger', name: 't' }, sub: 'x*y' }],
    },
  };

  it('the schema rejects a ref without kind', async () => {
    expect((await schemaProblems(broken)).join('\n')).toMatch(/kind/);
  });

  it('the webhook rules reject a from with both ref and sub, refs without apiVersion, a * inside sub', () => {
    expect(webhookProblems(broken)).toEqual([
      'from[0]: exactly one of ref, sub',
      'from[0].ref.apiVersion missing',
      "from[0].sub: '*' only as suffix",
      'to[0].ref.apiVersion missing',
      'to[0].ref.kind missing',
    ]);
  });
});
