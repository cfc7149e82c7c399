import { describe, expect, it } from 'vitest';
import { parsePodManifests } from './manifests.ts';
import type { PodObject } from './pod-runtime.ts';
import { parseMemoryQuantity } from './quantity.ts';
import { rewritePaths } from './sandbox.ts';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.ts';

const pod = (name: string, labels: Record<string, string>) =>
  ({
    metadata: { name, namespace: 'ns', labels },
    spec: {},
    status: { phase: 'Running' },
  }) as unknown as PodObject;

describe('label selectors', () => {
  const a = pod('a', { app: 'shop', tier: 'web' });
  const b = pod('b', { app: 'db' });
  it.each([
    ['app=shop', [true, false]],
    ['app==shop,tier', [true, false]],
    ['app!=shop', [false, true]],
    ['app in (db, x)', [false, true]],
    ['app notin (db)', [true, false]],
    ['!tier', [false, true]],
    ['', [true, true]],
  ])('%s', (selector, expected) => {
    const matches = parseLabelSelector(selector);
    expect([matches(a), matches(b)]).toEqual(expected);
  });

  it('rejects what it cannot parse', () => {
    expect(() => parseLabelSelector('app=(x')).toThrow(SelectorError);
  });
});

describe('field selectors', () => {
  it('supports metadata.name, metadata.namespace, status.phase with = and !=', () => {
    expect(parseFieldSelector('metadata.name=a')(pod('a', {}))).toBe(true);
    expect(parseFieldSelector('metadata.name!=a,status.phase=Running')(pod('a', {}))).toBe(false);
    expect(() => parseFieldSelector('spec.bogus=1')).toThrow('field label not supported: spec.bogus');
  });
});

describe('pod manifests', () => {
  it('reads documents and Lists, defaulting namespace and restart policy', () => {
    const pods = parsePodManifests(`
metadata: { name: one }
spec: { containers: [{ name: c, command: [sleep, '1'] }] }
---
kind: List
items:
  - metadata: { name: two, namespace: x }
    spec: { restartPolicy: Never, containers: [{ name: c, command: ['true'] }] }
`);
    expect(pods.map((p) => [p.metadata.namespace, p.metadata.name, p.spec.restartPolicy])).toEqual([
      ['default', 'one', 'Always'],
      ['x', 'two', 'Never'],
    ]);
  });

  it.each([
    ['metadata: { name: Bad_Name }\nspec: { containers: [{ name: c, command: [x] }] }', 'metadata.name'],
    ['metadata: { name: p }\nspec: { containers: [{ name: c }] }', 'command'],
    [
      'metadata: { name: p }\nspec: { containers: [{ name: c, command: [x], volumeMounts: [{ name: v, mountPath: /d }] }] }',
      'no volume named v',
    ],
    [
      'metadata: { name: p }\nspec: { containers: [{ name: c, command: [x], resources: { limits: { memory: lots } } }] }',
      'not a memory quantity',
    ],
  ])('says what is wrong: %s', (yaml, problem) => {
    expect(() => parsePodManifests(yaml)).toThrow(problem);
  });
});

describe('memory quantities', () => {
  it.each([
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['500M', 500e6],
    ['1e9', 1e9],
    ['1.5Ki', 1536],
    ['12', 12],
    ['12x', undefined],
    ['-1', undefined],
  ])('%s', (quantity, bytes) => {
    expect(parseMemoryQuantity(quantity)).toBe(bytes);
  });
});

describe('path mapping (isolation without namespaces)', () => {
  const mounts = [{ hostPath: '/var/tmp/pod/dumps', mountPath: '/dumps' }];
  it.each([
    ['/dumps', '/var/tmp/pod/dumps'],
    ['/dumps/a.hprof', '/var/tmp/pod/dumps/a.hprof'],
    ['-XX:HeapDumpPath=/dumps', '-XX:HeapDumpPath=/var/tmp/pod/dumps'],
    ['/dumpsters', '/dumpsters'],
    ['x/dumps', 'x/dumps'],
  ])('%s → %s', (value, expected) => {
    expect(rewritePaths(value, mounts)).toBe(expected);
  });
});
