import { describe, expect, it } from 'vitest';
import { type KubeObject, objectName, renderKustomization, schemaProblems } from './manifests.ts';

/** Every kustomization docs/deploy.md has you apply (or build on): each renders, each object validates. */
const kustomizations = [
  'eventing',
  'infra',
  'infra/secrets',
  'infra/alerting/prometheus-operator',
  'infra/alerting/prometheus-operator/target-namespace',
  'infra/alerting/prometheus-operator/rule',
  'infra/alerting/prometheus-operator/route',
  'infra/alerting/prometheus-operator/cluster-rule',
  'infra/alerting/plain',
];

/** The API groups every Kubernetes cluster serves: what `kubectl apply -k infra/` may use. */
const builtInApiVersions = new Set(['v1', 'apps/v1', 'rbac.authorization.k8s.io/v1', 'networking.k8s.io/v1']);

describe.each(kustomizations)('kubectl kustomize %s/', (dir) => {
  const objects = renderKustomization(dir);

  it('renders objects', () => {
    expect(objects.length).toBeGreaterThan(0);
  });

  it.each(objects.map((object): [string, KubeObject] => [objectName(object), object]))(
    '%s validates against its schema',
    async (_name, object) => {
      expect(await schemaProblems(object)).toEqual([]);
    },
  );
});

describe('the base (infra/)', () => {
  it('uses only built-in APIs, so it applies on a cluster without the Prometheus Operator', () => {
    const objects = renderKustomization('infra');
    expect(objects.filter((o) => !builtInApiVersions.has(o.apiVersion)).map(objectName)).toEqual([]);
  });

  it('uses only built-in APIs also for what target namespaces include (infra/target-namespace)', () => {
    const objects = renderKustomization('infra/target-namespace');
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.filter((o) => !builtInApiVersions.has(o.apiVersion)).map(objectName)).toEqual([]);
  });
});

describe('schema validation', () => {
  it('rejects a Trigger whose delivery has the wrong types', async () => {
    const broken: KubeObject = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 'broken' },
      spec: { broker: 'heapdump', delivery: { retry: 'five', backoffPolicy: 'sometimes' } },
    };
    const problems = await schemaProblems(broken);
    expect(problems.join('\n')).toMatch(/retry/);
  });

  it('reports kinds it has no schema for instead of passing them', async () => {
    const unknown: KubeObject = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    expect(await schemaProblems(unknown)).toEqual(['no model for apiVersion example.com/v1']);
  });
});
