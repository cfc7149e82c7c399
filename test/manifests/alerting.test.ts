/**
 * The alerting half: the PrometheusRule passes promtool and fires (in promtool's rule unit tests) for
 * exactly the containers above 80 % of their memory limit for a minute; both Alertmanager routes send
 * to alert-bridge with its bearer token and the seed's timings.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ofKind, readFunctionDescriptor, readYamlFile, renderKustomization, repoRoot } from './manifests.ts';

const infra = renderKustomization('infra');
const secretTemplates = ofKind(renderKustomization('infra/secrets'), 'Secret');
const [rule] = ofKind(infra, 'PrometheusRule');
const amConfigs = ofKind(infra, 'AlertmanagerConfig');
const plainConfigPath = 'infra/alertmanager/alertmanager.yml';
const alertBridge = readFunctionDescriptor('alert-bridge');
const alertBridgeUrl = `http://alert-bridge.${alertBridge.deploy?.namespace}.svc.cluster.local/`;

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
function container(pod: string, name: string, workingSetMiB: number, limitMiB: number) {
  const labels = `namespace="team",pod="${pod}",container="${name}"`;
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

describe('PrometheusRule HighMemoryUsage', () => {
  const rulesPath = join(work, 'rules.yaml');
  writeFileSync(rulesPath, stringify(rule?.spec));

  it('passes promtool check rules', () => {
    const result = run('promtool', ['check', 'rules', rulesPath]);
    expect(result.output).toMatch(/SUCCESS: 1 rules found/);
    expect(result.ok).toBe(true);
  });

  it('fires per container after a minute above 80 % of the memory limit, and not below', () => {
    const highLabels = { alertname: 'HighMemoryUsage', severity: 'warning', namespace: 'team', pod: 'hog-1' };
    const tests = {
      rule_files: [rulesPath],
      evaluation_interval: '30s',
      tests: [
        {
          interval: '30s',
          input_series: [
            ...container('hog-1', 'app', 400, 448), // 89 %
            ...container('hog-1', 'sidecar', 10, 64), // 16 %, same pod
            ...container('calm-1', 'app', 300, 448), // 67 %
            {
              series: 'container_memory_working_set_bytes{namespace="team",pod="free-1",container="app"}',
              values: `${900 * mib}x10`,
            },
          ],
          alert_rule_test: [
            { eval_time: '30s', alertname: 'HighMemoryUsage', exp_alerts: [] }, // pending: `for: 1m`
            {
              eval_time: '2m',
              alertname: 'HighMemoryUsage',
              exp_alerts: [
                {
                  exp_labels: { ...highLabels, container: 'app' },
                  exp_annotations: {
                    summary: 'High Memory Usage',
                    description: 'Container app of team/hog-1 uses 89.29% of its memory limit.',
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const testsPath = join(work, 'rules.test.yaml');
    writeFileSync(testsPath, stringify(tests));
    const result = run('promtool', ['test', 'rules', testsPath]);
    expect(result.output).toMatch(/SUCCESS/);
    expect(result.ok).toBe(true);
  });
});

describe('Alertmanager routes to alert-bridge', () => {
  it('the AlertmanagerConfig routes HighMemoryUsage with the seed timings and the bearer Secret', () => {
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
    expect(route?.matchers).toEqual(['alertname="HighMemoryUsage"']);
    const webhook = config.receivers.find((r) => r.name === route?.receiver)?.webhook_configs?.[0];
    expect(webhook?.url).toBe(alertBridgeUrl);
    expect(webhook?.http_config).toMatchObject({ authorization: { type: 'Bearer' } });
  });

  it('amtool rejects a broken copy (the check is real)', () => {
    const broken = join(work, 'broken.yml');
    writeFileSync(broken, 'route:\n  receiver: nowhere\nreceivers: []\n');
    expect(run('amtool', ['check-config', broken]).ok).toBe(false);
  });
});
