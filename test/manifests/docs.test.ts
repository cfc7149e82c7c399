import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ofKind, renderKustomization, repoRoot } from './manifests.ts';

it('the Trigger table of docs/deploy.md is the Triggers eventing/ renders', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'deploy.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `([a-z0-9-]+)` \| `([a-z0-9.]+)` \| ([a-z-]+) \|/gm)].map(
    ([, name, type, subscriber]) => ({ name, type, subscriber }),
  );
  const triggers = ofKind(renderKustomization('eventing'), 'Trigger').map((t) => ({
    name: t.metadata.name,
    type: t.spec.filter.attributes.type,
    subscriber: t.spec.subscriber.ref.name,
  }));
  expect(rows.length).toBeGreaterThan(0);
  const byName = (a: { name?: string }, b: { name?: string }) => String(a.name).localeCompare(String(b.name));
  expect(rows.sort(byName)).toEqual(triggers.sort(byName));
});
