/**
 * The alerting half, outside the base (infra/ applies on clusters without the Prometheus Operator):
 * - infra/alerting/plain: the rule file passes promtool and fires (in promtool's rule unit tests) for
 *   exactly the containers above 80 % of their memory limit for a minute; the alertmanager.yml route
 *   passes amtool; both ship as ConfigMaps with fixed names;
 * - infra/alerting/prometheus-operator: the same rule as a PrometheusRule, in every opted-in namespace
 *   beside its AlertmanagerConfig, because a Prometheus that enforces a namespace label scopes a rule to
 *   its own namespace (checked here by injecting the matcher as the operator does and running promtool).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import {
  type KubeObject,
  ofKind,
  readFunctionDescriptor,
  readYamlFile,
  renderKustomization,
  repoRoot,
} from './manifests.ts';

const base = renderKustomization('infra');
const operator = renderKustomization('infra/alerting/prometheus-operator');
const perNamespace = renderKustomization('infra/alerting/prometheus-operator/target-namespace');
const routeOnly = renderKustomization('infra/alerting/prometheus-operator/route');
const ruleOnly = renderKustomization('infra/alerting/prometheus-operator/rule');
const clusterRule = renderKustomization('infra/alerting/prometheus-operator/cluster-rule');
const plain = renderKustomization('infra/alerting/plain');
const secretTemplates = ofKind(renderKustomization('infra/secrets'), 'Secret');

const plainRulesPath = 'infra/alerting/plain/heapdump.rules.yml';
const plainConfigPath = 'infra/alerting/plain/alertmanager.yml';
const plainRules = readYamlFile(plainRulesPath) as { groups: RuleGroup[] };
const [rule] = ofKind(ruleOnly, 'PrometheusRule');
const alertBridge = readFunctionDescriptor('alert-bridge');
const alertBridgeUrl = `http://alert-bridge.${alertBridge.deploy?.namespace}.svc.cluster.local/`;
const heapdumpNamespace = alertBridge.deploy?.namespace ?? '(none)';

/** Namespaces whose pods opt in: the ones infra/ labels heapdump.dev/enabled=true. */
const optedIn = ofKind(base, 'Namespace')
  .filter((ns) => ns.metadata.labels?.['heapdump.dev/enabled'] === 'true')
  .map((ns) => ns.metadata.name)
  .sort();

interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: AlertingRule[];
}

const work = mkdtempSync(join(tmpdir(), 'heapdump-alerting-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(command: string, args: string[]): { ok: boolean; output: string } {
  try {
    return {
      ok: true,
      output: execFileSync(command, args, {
        encoding: 'utf8',
        timeout: 30_000,
        cwd: work,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const mib = 1024 * 1024;
/** One container's working set and memory limit, as cAdvisor and kube-state-metrics export them. */
function container(namespace: string, pod: string, name: string, workingSetMiB: number, limitMiB: number) {
  const labels = `namespace="${namespace}",pod="${pod}",container="${name}"`;
  return [
    {
      series: `container_memory_working_set_bytes{${labels},id="/kubepods/x"}`,
      values: `${workingSetMiB * mib}x10`,
    },
    {
      series: `kube_pod_container_resource_limits{${labels},resource="memory",unit="byte",node="n1"}`,
      values: `${limitMiB * mib}x10`,
    },
    { series: `kube_pod_container_resource_limits{${labels},resource="cpu",unit="core"}`, values: '1x10' },
  ];
}

/**
 * What the Prometheus Operator makes of a PrometheusRule in `namespace` when its Prometheus has
 * enforcedNamespaceLabel: namespace (prometheus-operator pkg/namespacelabeler/labeler.go
 * EnforceNamespaceLabel): namespace="<ns>" on every vector selector and on the alert's labels.
 * The expression has only selectors with braces, so this textual injection is the same rewrite.
 */
function enforceNamespace(groups: RuleGroup[], namespace: string): RuleGroup[] {
  return groups.map((group) => ({
    ...group,
    rules: group.rules.map((r) => ({
      ...r,
      expr: r.expr.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g, `$1{namespace="${namespace}", `),
      labels: { ...r.labels, namespace },
    })),
  }));
}

function promtoolTest(name: string, ruleGroups: RuleGroup[], inputSeries: unknown[], expAlerts: unknown[]) {
  const rulesPath = join(work, `${name}.rules.yaml`);
  writeFileSync(rulesPath, stringify({ groups: ruleGroups }));
  const testsPath = join(work, `${name}.test.yaml`);
  writeFileSync(
    testsPath,
    stringify({
      rule_files: [rulesPath],
      evaluation_interval: '30s',
      tests: [
        {
          interval: '30s',
          input_series: inputSeries,
          alert_rule_test: [
            { eval_time: '30s', alertname: 'HighMemoryUsage', exp_alerts: [] }, // pending: `for: 1m`
            { eval_time: '2m', alertname: 'HighMemoryUsage', exp_alerts: expAlerts },
          ],
        },
      ],
    }),
  );
  return run('promtool', ['test', 'rules', testsPath]);
}

const description = (ns: string, pod: string, percent: string) =>
  `Container app of ${ns}/${pod} uses ${percent}% of its memory limit.`;

describe('the base applies without the Prometheus Operator', () => {
  it('infra/ renders no monitoring.coreos.com objects', () => {
    expect(base.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'))).toEqual([]);
  });
});

describe('plain Prometheus rule file (infra/alerting/plain/heapdump.rules.yml)', () => {
  it('passes promtool check rules', () => {
    const result = run('promtool', ['check', 'rules', join(repoRoot, plainRulesPath)]);
    expect(result.output).toMatch(/SUCCESS: 1 rules found/);
    expect(result.ok).toBe(true);
  });

  it('fires per container after a minute above 80 % of the memory limit, and not below, in any namespace', () => {
    const result = promtoolTest(
      'plain',
      plainRules.groups,
      [
        ...container('team', 'hog-1', 'app', 400, 448), // 89 %
        ...container('team', 'hog-1', 'sidecar', 10, 64), // 16 %, same pod
        ...container('team', 'calm-1', 'app', 300, 448), // 67 %
        ...container('other', 'hog-2', 'app', 430, 448), // 96 %, another namespace
        {
          series: 'container_memory_working_set_bytes{namespace="team",pod="free-1",container="app"}',
          values: `${900 * mib}x10`,
        },
      ],
      [
        {
          exp_labels: {
            alertname: 'HighMemoryUsage',
            severity: 'warning',
            namespace: 'other',
            pod: 'hog-2',
            container: 'app',
          },
          exp_annotations: {
            summary: 'High Memory Usage',
            description: description('other', 'hog-2', '95.98'),
          },
        },
        {
          exp_labels: {
            alertname: 'HighMemoryUsage',
            severity: 'warning',
            namespace: 'team',
            pod: 'hog-1',
            container: 'app',
          },
          exp_annotations: {
            summary: 'High Memory Usage',
            description: description('team', 'hog-1', '89.29'),
          },
        },
      ],
    );
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.ok).toBe(true);
  });

  it('promtool rejects a broken rule (the check is real)', () => {
    const broken = join(work, 'broken.rules.yaml');
    writeFileSync(broken, 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: "sum(("\n');
    expect(run('promtool', ['check', 'rules', broken]).ok).toBe(false);
  });

  it('ships as the ConfigMap heapdump-prometheus-rules, byte for byte, under a fixed name', () => {
    const map = ofKind(plain, 'ConfigMap').find((m) => m.metadata.name === 'heapdump-prometheus-rules');
    expect(map?.data['heapdump.rules.yml']).toBe(readFileSync(join(repoRoot, plainRulesPath), 'utf8'));
    expect(map?.metadata.namespace).toBeUndefined(); // applied into the monitoring namespace
  });
});

describe('PrometheusRule HighMemoryUsage (infra/alerting/prometheus-operator)', () => {
  it('is the plain rule file, group for group', () => {
    expect(rule?.spec).toEqual(plainRules);
  });

  it('sits in every opted-in namespace, beside the AlertmanagerConfig that routes it, and nowhere else', () => {
    expect(optedIn.length).toBeGreaterThan(0);
    const where = (kind: string) =>
      ofKind(operator, kind)
        .map((o) => o.metadata.namespace)
        .sort();
    expect(where('PrometheusRule')).toEqual(optedIn);
    expect(where('AlertmanagerConfig')).toEqual(optedIn);
    expect(where('PrometheusRule')).not.toContain(heapdumpNamespace);
    for (const object of ofKind(operator, 'PrometheusRule')) expect(object.spec).toEqual(rule?.spec);
  });

  it('with an enforced namespace label, a copy sees its own namespace only: hence one per namespace', () => {
    const inTeam = enforceNamespace(plainRules.groups, 'team');
    const series = [
      ...container('team', 'hog-1', 'app', 400, 448),
      ...container('other', 'hog-2', 'app', 430, 448),
    ];
    const result = promtoolTest('enforced-team', inTeam, series, [
      {
        exp_labels: {
          alertname: 'HighMemoryUsage',
          severity: 'warning',
          namespace: 'team',
          pod: 'hog-1',
          container: 'app',
        },
        exp_annotations: { summary: 'High Memory Usage', description: description('team', 'hog-1', '89.29') },
      },
    ]);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.ok).toBe(true);
    // The same rule kept in heapdump would never fire for a Java service's namespace.
    const inHeapdump = promtoolTest(
      'enforced-heapdump',
      enforceNamespace(plainRules.groups, heapdumpNamespace),
      series,
      [],
    );
    expect(inHeapdump.output).toMatch(/SUCCESS/);
    expect(inHeapdump.ok).toBe(true);
  });

  it('comes as building blocks: rule, route, both per namespace, or one cluster-wide rule in heapdump', () => {
    const kinds = (objects: KubeObject[]) => objects.map((o) => o.kind).sort();
    expect(kinds(ruleOnly)).toEqual(['PrometheusRule']);
    expect(kinds(routeOnly)).toEqual(['AlertmanagerConfig']);
    expect(kinds(perNamespace)).toEqual(['AlertmanagerConfig', 'PrometheusRule']);
    // Without a namespace of their own: the overlay that uses them sets it.
    for (const object of [...ruleOnly, ...routeOnly, ...perNamespace])
      expect(object.metadata.namespace).toBeUndefined();
    expect(clusterRule.map((o) => [o.kind, o.metadata.namespace])).toEqual([
      ['PrometheusRule', heapdumpNamespace],
    ]);
    expect(clusterRule[0]?.spec).toEqual(rule?.spec);
  });

  it('carries no evaluation-scope label that would keep it away from cAdvisor and kube-state-metrics series', () => {
    for (const object of [...operator, ...clusterRule])
      expect(object.metadata.labels ?? {}).not.toHaveProperty([
        'openshift.io/prometheus-rule-evaluation-scope',
      ]);
  });
});

describe('Alertmanager routes to alert-bridge', () => {
  const amConfigs = ofKind(operator, 'AlertmanagerConfig');

  it('the AlertmanagerConfig routes HighMemoryUsage with the seed timings and the bearer Secret of its namespace', () => {
    expect(amConfigs.length).toBeGreaterThan(0);
    for (const config of amConfigs) {
      const { route, receivers } = config.spec;
      expect(route.matchers).toContainEqual({
        name: 'alertname',
        value: rule?.spec.groups[0].rules[0].alert,
        matchType: '=',
      });
      expect(route).toMatchObject({ groupWait: '30s', groupInterval: '1m', repeatInterval: '2m' });
      const receiver = receivers.find((r: { name: string }) => r.name === route.receiver);
      const [webhook] = receiver.webhookConfigs;
      expect(webhook.url).toBe(alertBridgeUrl);
      expect(webhook.httpConfig.authorization.type).toBe('Bearer');
      const { name, key } = webhook.httpConfig.authorization.credentials;
      const secret = secretTemplates.find(
        (s) => s.metadata.name === name && s.metadata.namespace === config.metadata.namespace,
      );
      expect(secret?.stringData).toHaveProperty([key]);
    }
  });

  it('the plain alertmanager.yml passes amtool check-config and says the same', () => {
    const result = run('amtool', ['check-config', join(repoRoot, plainConfigPath)]);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.ok).toBe(true);
    const config = readYamlFile(plainConfigPath) as {
      route: { routes: Record<string, unknown>[] };
      receivers: { name: string; webhook_configs?: Record<string, unknown>[] }[];
    };
    const [route] = config.route.routes;
    expect(route).toMatchObject({ group_wait: '30s', group_interval: '1m', repeat_interval: '2m' });
    expect(route?.matchers).toEqual([`alertname="${plainRules.groups[0]?.rules[0]?.alert}"`]);
    const webhook = config.receivers.find((r) => r.name === route?.receiver)?.webhook_configs?.[0];
    expect(webhook?.url).toBe(alertBridgeUrl);
    expect(webhook?.http_config).toMatchObject({ authorization: { type: 'Bearer' } });
  });

  it('the plain alertmanager.yml ships as the ConfigMap heapdump-alertmanager-route, byte for byte', () => {
    const map = ofKind(plain, 'ConfigMap').find((m) => m.metadata.name === 'heapdump-alertmanager-route');
    const text = map?.data['alertmanager.yml'];
    expect(text).toBe(readFileSync(join(repoRoot, plainConfigPath), 'utf8'));
    expect(parseYaml(text ?? '')).toEqual(readYamlFile(plainConfigPath));
  });

  it('amtool rejects a broken copy (the check is real)', () => {
    const broken = join(work, 'broken.yml');
    writeFileSync(broken, 'route:\n  receiver: nowhere\nreceivers: []\n');
    expect(run('amtool', ['check-config', broken]).ok).toBe(false);
  });
});
