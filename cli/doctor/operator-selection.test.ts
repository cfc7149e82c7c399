import { describe, expect, it } from 'vitest';
import type { KubeObject } from './cluster.ts';
import { selects } from './label-selector.ts';
import { isRunning, whyNotSelected } from './operator-selection.ts';

const rule: KubeObject = {
  kind: 'PrometheusRule',
  metadata: { name: 'r', namespace: 'apps', labels: { 'app.kubernetes.io/part-of': 'knative-heapdump' } },
};
const fields = { selector: 'ruleSelector', namespaceSelector: 'ruleNamespaceSelector' } as const;
const prometheus = (spec: Record<string, unknown>): KubeObject => ({
  kind: 'Prometheus',
  metadata: { name: 'k8s', namespace: 'monitoring' },
  spec,
});

describe('which Prometheus picks up a rule (prometheus-operator selector semantics)', () => {
  it('an empty selector selects every rule in every namespace', () => {
    expect(
      whyNotSelected(prometheus({ ruleSelector: {}, ruleNamespaceSelector: {} }), fields, rule, {}),
    ).toBeUndefined();
  });

  it('an unset rule selector selects no rule at all', () => {
    expect(whyNotSelected(prometheus({ ruleNamespaceSelector: {} }), fields, rule, {})?.problem).toMatch(
      /has no spec\.ruleSelector, so it selects no PrometheusRule/,
    );
  });

  it('an unset namespace selector reads only the Prometheus own namespace', () => {
    const own = { ...rule, metadata: { ...rule.metadata, namespace: 'monitoring' } };
    expect(whyNotSelected(prometheus({ ruleSelector: {} }), fields, own, {})).toBeUndefined();
    expect(whyNotSelected(prometheus({ ruleSelector: {} }), fields, rule, {})?.problem).toMatch(
      /reads only its own namespace monitoring, not apps/,
    );
  });

  it('matchLabels and matchExpressions on the rule and its namespace', () => {
    const spec = {
      ruleSelector: {
        matchExpressions: [
          { key: 'app.kubernetes.io/part-of', operator: 'In', values: ['knative-heapdump'] },
        ],
      },
      ruleNamespaceSelector: { matchLabels: { monitored: 'yes' } },
    };
    expect(whyNotSelected(prometheus(spec), fields, rule, { monitored: 'yes' })).toBeUndefined();
    expect(whyNotSelected(prometheus(spec), fields, rule, {})).toEqual({
      problem: expect.stringContaining(
        'spec.ruleNamespaceSelector (monitored=yes) does not select namespace apps',
      ),
      fix: expect.stringMatching(/^kubectl label namespace apps monitored=yes/),
    });
    expect(selects({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, { y: '1' })).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['1'] }] }, { x: '1' })).toBe(
      false,
    );
  });

  it('running: Available True (or Degraded), else available replicas when there are no conditions', () => {
    const withStatus = (status: unknown): KubeObject => ({ metadata: { name: 'p' }, status });
    expect(isRunning(withStatus({ conditions: [{ type: 'Available', status: 'Degraded' }] }))).toBe(true);
    expect(
      isRunning(withStatus({ availableReplicas: 2, conditions: [{ type: 'Available', status: 'False' }] })),
    ).toBe(false);
    expect(isRunning(withStatus({ availableReplicas: 1 }))).toBe(true);
    expect(isRunning(withStatus(undefined))).toBe(false);
  });
});
