import { describe, expect, it } from 'vitest';
import { type KubeObject, objectName, renderKustomization, schemaProblems } from './manifests.ts';

const kustomizations = ['eventing', 'infra', 'infra/secrets'];

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
