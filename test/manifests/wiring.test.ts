/**
 * The manifests follow the code: Triggers, dead letters, SinkBindings and RBAC are checked against what
 * each function's meta.ts says it accepts, emits and calls, not against a list kept here.
 */
import { describe, expect, it } from 'vitest';
import { EventTypes } from '../../functions/lib/events/index.ts';
import type { FunctionMeta } from '../../functions/lib/function-meta.ts';
import { allFunctions } from '../../functions/lib/functions.ts';
import {
  envOf,
  type KubeObject,
  objectName,
  ofKind,
  readFunctionDescriptor,
  renderKustomization,
} from './manifests.ts';

const eventing = renderKustomization('eventing');
const infra = renderKustomization('infra');
const triggers = ofKind(eventing, 'Trigger');
const [broker] = ofKind(eventing, 'Broker');
const metaOf = (name: string): FunctionMeta | undefined => allFunctions.find((meta) => meta.name === name);

/** Knative Serving's default request timeout; func.yaml cannot raise it (DESIGN section 10). */
const servingRequestTimeoutSeconds = 300;

function isoSeconds(duration: string): number {
  const match = /^PT(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(duration);
  if (!match || (!match[1] && !match[2]))
    throw new Error(`not an ISO-8601 duration this test reads: ${duration}`);
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

const subscriberOf = (trigger: KubeObject): string => trigger.spec.subscriber.ref.name;
const typeOf = (trigger: KubeObject): string => trigger.spec.filter.attributes.type;
const deadLetterSinkOf = (trigger: KubeObject): string | undefined =>
  trigger.spec.delivery?.deadLetterSink?.ref?.name;
const routedTo = (type: string, fn: string): boolean =>
  triggers.some((trigger) => typeOf(trigger) === type && subscriberOf(trigger) === fn);
const brokerRef = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: broker?.metadata.name };

describe('Triggers', () => {
  it('exist, on the one Broker', () => {
    expect(broker).toBeDefined();
    expect(triggers.length).toBeGreaterThan(0);
    for (const trigger of triggers)
      expect(trigger.spec.broker, objectName(trigger)).toBe(broker?.metadata.name);
  });

  it.each(triggers.map((t) => [t.metadata.name, t] as const))(
    '%s filters on exactly one type and routes it to a function that accepts it',
    (_name, trigger) => {
      expect(Object.keys(trigger.spec.filter.attributes)).toEqual(['type']);
      expect(trigger.spec.subscriber.ref).toMatchObject({
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
      });
      const meta = metaOf(subscriberOf(trigger));
      expect(meta, `subscriber ${subscriberOf(trigger)} is not a function`).toBeDefined();
      expect(meta?.accepts).toContain(typeOf(trigger));
    },
  );

  it.each(triggers.map((t) => [t.metadata.name, t] as const))(
    '%s sets a full delivery block: retries, exponential backoff, timeout, dead letters to release-token',
    (_name, trigger) => {
      const delivery = trigger.spec.delivery;
      expect(Number.isInteger(delivery.retry) && delivery.retry > 0).toBe(true);
      expect(delivery.backoffPolicy).toBe('exponential');
      expect(isoSeconds(delivery.backoffDelay)).toBeGreaterThan(0);
      expect(isoSeconds(delivery.timeout)).toBeGreaterThan(0);
      expect(isoSeconds(delivery.timeout)).toBeLessThanOrEqual(servingRequestTimeoutSeconds);
      expect(delivery.deadLetterSink.ref).toEqual({
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        name: 'release-token',
      });
    },
  );

  it('give each function one delivery policy for all its routes', () => {
    for (const meta of allFunctions) {
      const policies = new Set(
        triggers.filter((t) => subscriberOf(t) === meta.name).map((t) => JSON.stringify(t.spec.delivery)),
      );
      expect(policies.size, meta.name).toBeLessThanOrEqual(1);
    }
  });

  it('let an upload slice finish within one attempt', () => {
    const slice = Number(envOf(readFunctionDescriptor('upload-dump')).get('UPLOAD_SLICE_SECONDS'));
    const uploadTriggers = triggers.filter((t) => subscriberOf(t) === 'upload-dump');
    expect(uploadTriggers.length).toBeGreaterThan(0);
    for (const trigger of uploadTriggers) {
      expect(isoSeconds(trigger.spec.delivery.timeout), trigger.metadata.name).toBeGreaterThanOrEqual(
        slice + 30,
      );
    }
  });

  it('give exec-dump minutes, not seconds, for a dump', () => {
    for (const trigger of triggers.filter((t) => subscriberOf(t) === 'exec-dump')) {
      expect(isoSeconds(trigger.spec.delivery.timeout)).toBeGreaterThanOrEqual(120);
    }
  });
});

describe('every event reaches the functions that accept it', () => {
  const emitted = new Set(allFunctions.flatMap((meta) => meta.emits));
  const routes = allFunctions.flatMap((meta) => meta.accepts.map((type) => [meta.name, type] as const));

  it.each(routes)(
    '%s receives %s, by a Trigger or as the dead letters of the Triggers that carry it',
    (fn, type) => {
      const carriers = triggers.filter((trigger) => typeOf(trigger) === type);
      const asDeadLetters =
        carriers.length > 0 && carriers.every((trigger) => deadLetterSinkOf(trigger) === fn);
      expect(routedTo(type, fn) || asDeadLetters).toBe(true);
    },
  );

  it.each([...emitted])('%s, when a function emits it, has a Trigger unless nothing accepts it', (type) => {
    const acceptors = allFunctions.filter((meta) => (meta.accepts as readonly string[]).includes(type));
    const carriers = triggers.filter((trigger) => typeOf(trigger) === type);
    if (acceptors.length === 0) expect(carriers).toEqual([]);
    else expect(carriers.length).toBeGreaterThan(0);
  });

  it('routes the alerts alert-bridge posts', () => {
    expect(routedTo(EventTypes.alertFiring, 'decide-dump')).toBe(true);
  });
});

describe('sources', () => {
  it('the ApiServerSource sends whole opted-in Pods to the Broker as update events decide-dump takes', () => {
    const [source] = ofKind(eventing, 'ApiServerSource');
    expect(source?.spec.mode).toBe('Resource');
    expect(source?.spec.resources).toEqual([
      { apiVersion: 'v1', kind: 'Pod', selector: { matchLabels: { 'heapdump.dev/enabled': 'true' } } },
    ]);
    expect(source?.spec.sink.ref).toEqual(brokerRef);
    expect(routedTo(EventTypes.podUpdated, 'decide-dump')).toBe(true);
  });

  it('the PingSource ticks every minute into the Broker, and its type is the sweep type', () => {
    const [ping] = ofKind(eventing, 'PingSource');
    expect(ping?.spec.schedule).toBe('* * * * *');
    expect(ping?.spec.sink.ref).toEqual(brokerRef);
    // sources.knative.dev PingSourceEventType: fixed, ceOverrides cannot change it.
    expect(EventTypes.sweep).toBe('dev.knative.sources.ping');
  });

  it('SinkBindings give K_SINK to exactly the functions that post instead of replying', () => {
    const deadLetterSinks = new Set(triggers.map(deadLetterSinkOf));
    const posters = allFunctions
      .filter(
        (meta) => meta.emits.length > 0 && (meta.accepts.length === 0 || deadLetterSinks.has(meta.name)),
      )
      .map((meta) => meta.name)
      .sort();
    const bindings = ofKind(eventing, 'SinkBinding');
    expect(bindings.map((binding) => binding.spec.subject.name).sort()).toEqual(posters);
    for (const binding of bindings) {
      expect(binding.spec.subject).toMatchObject({ apiVersion: 'serving.knative.dev/v1', kind: 'Service' });
      expect(binding.spec.sink.ref).toEqual(brokerRef);
    }
  });
});

describe('RBAC', () => {
  const namespace = readFunctionDescriptor('decide-dump').deploy?.namespace ?? '(none)';
  const clusterRoles = new Map(ofKind(infra, 'ClusterRole').map((role) => [role.metadata.name, role]));
  const roleBindings = ofKind(infra, 'RoleBinding');

  /** `verb resource` pairs granted to a ServiceAccount, per namespace it is granted in. */
  function grants(serviceAccount: string): Map<string, Set<string>> {
    const byNamespace = new Map<string, Set<string>>();
    for (const binding of roleBindings) {
      const bound = binding.subjects.some(
        (s: KubeObject) =>
          s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === namespace,
      );
      if (!bound) continue;
      expect(binding.roleRef.kind, objectName(binding)).toBe('ClusterRole');
      const rules = clusterRoles.get(binding.roleRef.name)?.rules ?? [];
      const where = binding.metadata.namespace ?? '(cluster)';
      const pairs = byNamespace.get(where) ?? new Set<string>();
      for (const rule of rules) {
        expect(rule.apiGroups).toEqual(['']);
        for (const verb of rule.verbs)
          for (const resource of rule.resources) pairs.add(`${verb} ${resource}`);
      }
      byNamespace.set(where, pairs);
    }
    return byNamespace;
  }

  it('grants nothing cluster-wide', () => {
    expect(ofKind(infra, 'ClusterRoleBinding')).toEqual([]);
    expect(ofKind(infra, 'Role')).toEqual([]);
  });

  it.each(allFunctions.map((meta) => [meta.name, meta] as const))(
    '%s has its own ServiceAccount with exactly the calls its meta.ts lists',
    (name, meta) => {
      const accounts = ofKind(infra, 'ServiceAccount').filter(
        (sa) => sa.metadata.name === name && sa.metadata.namespace === namespace,
      );
      expect(accounts).toHaveLength(1);
      expect(readFunctionDescriptor(name).deploy?.serviceAccountName).toBe(name);
      const granted = grants(name);
      if (meta.kubernetes.length === 0) {
        expect(granted.size).toBe(0);
        expect(accounts[0]?.automountServiceAccountToken).toBe(false);
        return;
      }
      expect(granted.size).toBeGreaterThan(0);
      for (const [where, pairs] of granted) {
        expect([...pairs].sort(), `${name} in ${where}`).toEqual([...meta.kubernetes].sort());
      }
    },
  );

  it('decide-dump cannot exec into pods', () => {
    for (const pairs of grants('decide-dump').values()) {
      expect([...pairs].filter((pair) => pair.includes('pods/exec'))).toEqual([]);
    }
  });

  it('the ApiServerSource account can only get, list and watch pods, wherever the functions can act', () => {
    const [source] = ofKind(eventing, 'ApiServerSource');
    const watcher = grants(source?.spec.serviceAccountName ?? '(none)');
    expect(watcher.size).toBeGreaterThan(0);
    for (const pairs of watcher.values()) {
      expect([...pairs].sort()).toEqual(['get pods', 'list pods', 'watch pods']);
    }
    expect([...grants('decide-dump').keys()].sort()).toEqual([...watcher.keys()].sort());
  });

  it('opted-in namespaces carry the label the ApiServerSource selects them by', () => {
    const [source] = ofKind(eventing, 'ApiServerSource');
    const selector = source?.spec.namespaceSelector.matchLabels;
    for (const where of grants('decide-dump').keys()) {
      const ns = ofKind(infra, 'Namespace').find((n) => n.metadata.name === where);
      expect(ns?.metadata.labels).toMatchObject(selector);
    }
  });
});
