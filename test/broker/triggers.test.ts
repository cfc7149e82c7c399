import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backoffMs, type Delivery, loadTriggers } from '../../dev/broker/index.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/eventing', import.meta.url));
const SERVICE = { apiVersion: 'serving.knative.dev/v1', kind: 'Service' };

const trigger = (name: string, spec: string) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
spec:
  broker: default
${spec}`;

describe('loadTriggers', () => {
  it('renders a kustomize directory with kubectl, taking the namespace kustomize sets', async () => {
    const triggers = await loadTriggers(FIXTURE);
    expect(triggers).toHaveLength(22);
    expect(new Set(triggers.map((t) => t.namespace))).toEqual(new Set(['heapdump-test']));
    expect(triggers.find((t) => t.name === 'flaky')).toEqual({
      name: 'flaky',
      namespace: 'heapdump-test',
      broker: 'default',
      filter: { type: 'test.flaky' },
      subscriber: { ref: { ...SERVICE, name: 'flaky' } },
      delivery: {
        retry: 3,
        backoffPolicy: 'exponential',
        backoffDelayMs: 100,
        timeoutMs: 2_000,
        deadLetterSink: { ref: { ...SERVICE, name: 'dead-letters' } },
      },
    });
  });

  it('gives a Trigger without delivery its Broker’s, and never merges the two', async () => {
    const triggers = await loadTriggers(FIXTURE);
    expect(triggers.find((t) => t.name === 'inherit')?.delivery).toEqual({
      retry: 2,
      backoffPolicy: 'exponential',
      backoffDelayMs: 100,
      deadLetterSink: { ref: { ...SERVICE, name: 'dead-letters' } },
    });
    // Its own delivery names no dead-letter sink, so it has none, whatever the Broker says.
    expect(triggers.find((t) => t.name === 'answer')?.delivery).toEqual({ retry: 0 });
    expect(triggers.find((t) => t.name === 'catch-all')).toMatchObject({
      broker: 'other',
      filter: {},
      delivery: { retry: 0 },
    });
  });

  it('reads YAML text, with a uri subscriber and no delivery at all', async () => {
    const triggers = await loadTriggers(trigger('plain', '  subscriber:\n    uri: http://127.0.0.1:9/x\n'));
    expect(triggers).toEqual([
      {
        name: 'plain',
        namespace: 'default',
        broker: 'default',
        filter: {},
        subscriber: { uri: 'http://127.0.0.1:9/x' },
        delivery: { retry: 0 },
      },
    ]);
  });

  it('reads a directory of plain YAML files when it has no kustomization', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'broker-yaml-'));
    try {
      await writeFile(join(dir, 'a.yaml'), trigger('a', '  subscriber:\n    uri: http://h/a\n'));
      await writeFile(join(dir, 'b.yml'), trigger('b', '  subscriber:\n    uri: http://h/b\n'));
      await writeFile(join(dir, 'notes.txt'), 'not yaml: [');
      expect((await loadTriggers(dir)).map((t) => t.name)).toEqual(['a', 'b']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says which Trigger and which field is wrong', async () => {
    const noSubscriber = trigger('lost', '  filter:\n    attributes:\n      type: x\n');
    await expect(loadTriggers(noSubscriber)).rejects.toThrow(/Trigger lost: spec\.subscriber/);
    const badDelay = trigger(
      'slow',
      '  subscriber:\n    uri: http://h/\n  delivery:\n    retry: 1\n    backoffPolicy: linear\n    backoffDelay: 2s\n',
    );
    await expect(loadTriggers(badDelay)).rejects.toThrow(
      'Trigger slow backoffDelay: "2s" is not an ISO-8601 duration',
    );
    const newFilters = trigger(
      'sql',
      '  filters:\n    - sql: "type = \'x\'"\n  subscriber:\n    uri: http://h/\n',
    );
    await expect(loadTriggers(newFilters)).rejects.toThrow(/spec\.filters is not supported/);
  });

  it('applies no backoff when the policy or the delay is missing, as Knative does', async () => {
    const [onlyDelay] = await loadTriggers(
      trigger('t', '  subscriber:\n    uri: http://h/\n  delivery:\n    retry: 3\n    backoffDelay: PT1S\n'),
    );
    expect(onlyDelay?.delivery).toEqual({ retry: 3 });
    expect(backoffMs(onlyDelay!.delivery, 2)).toBe(0);
  });
});

describe('backoffMs', () => {
  const delivery = (backoffPolicy: 'linear' | 'exponential'): Delivery => ({
    retry: 5,
    backoffPolicy,
    backoffDelayMs: 200,
  });

  it('follows Knative: delay·n or delay·2^n with n the 0-based index of the failed attempt', () => {
    expect([1, 2, 3, 4].map((retry) => backoffMs(delivery('linear'), retry))).toEqual([0, 200, 400, 600]);
    expect([1, 2, 3, 4].map((retry) => backoffMs(delivery('exponential'), retry))).toEqual([
      200, 400, 800, 1600,
    ]);
  });
});
