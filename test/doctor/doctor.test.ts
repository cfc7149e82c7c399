/**
 * heapdump doctor against the Kubernetes API emulator holding a deployed, ready knative-heapdump: all
 * checks pass, then each precondition is broken in turn and doctor must name it, with its fix, and fail.
 * The emulator serves what upstream's test data shows, so this checks our reading of the APIs, not a
 * real cluster (test/cluster/run.sh does that).
 */
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfigFromYaml } from '../../adapters/kubernetes/index.ts';
import {
  type CheckResult,
  createClusterReader,
  type DoctorOptions,
  loadShipped,
  runDoctor,
} from '../../cli/doctor/index.ts';
import type { Shipped } from '../../cli/doctor/shipped.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { breakages } from './breakages.ts';
import { type DoctorCluster, startDoctorCluster } from './cluster.ts';

const run = promisify(execFile);

let cluster: DoctorCluster;
let shipped: Shipped;
let redis: TestRedis;
let sshServer: ssh2.Server;
let sftpOptions: NonNullable<DoctorOptions['sftp']>;

beforeAll(async () => {
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  sshServer = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (context) => context.reject());
    client.on('error', () => {});
  });
  await new Promise<void>((resolve) => sshServer.listen(0, '127.0.0.1', resolve));
  sftpOptions = {
    host: '127.0.0.1',
    port: (sshServer.address() as AddressInfo).port,
    hostKey: hostKey.public,
  };
  [cluster, shipped, redis] = await Promise.all([startDoctorCluster(), loadShipped(), startTestRedis()]);
});
afterAll(async () => {
  await Promise.all([cluster?.stop(), redis?.stop(), new Promise((resolve) => sshServer?.close(resolve))]);
});
afterEach(() => cluster.restore());

async function doctor(
  options: Partial<DoctorOptions> = {},
  kubeconfig = cluster.emulator.kubeconfigFor('admin'),
) {
  return runDoctor(
    {
      cluster: createClusterReader(kubeConfigFromYaml(kubeconfig), 10_000),
      loadShipped: async () => shipped,
    },
    { timeoutMs: 10_000, ...options },
  );
}

const failures = (results: CheckResult[]) => results.filter((result) => result.outcome === 'fail');

describe('heapdump doctor on a deployed stack', { timeout: 60_000 }, () => {
  it('passes every check, Redis and SFTP included, and the CLI exits 0', async () => {
    const report = await doctor({ redis: { url: redis.restUrl, token: redis.token }, sftp: sftpOptions });
    expect(failures(report.results)).toEqual([]);
    expect(report.results.filter((result) => result.outcome === 'skip')).toEqual([]);
    expect(report.ok).toBe(true);
    const messages = report.results.map((result) => result.message).join('\n');
    expect(messages).toMatch(/Knative Serving installed \(release 1\.19\.6\)/);
    expect(messages).toMatch(/Broker heapdump\/heapdump Ready, at http:\/\/broker-ingress/);
    expect(messages).toMatch(/1 opted-in namespace\(s\) \(heapdump-example\), 1 opted-in pod\(s\)/);
    expect(messages).toMatch(
      /exec-dump: ServiceAccount heapdump\/exec-dump may get pods, get pods\/exec, create pods\/exec/,
    );
    expect(messages).toMatch(
      /PrometheusRule heapdump-example\/heapdump-high-memory-usage is picked up by Prometheus monitoring\/k8s/,
    );
    expect(messages).toMatch(/answers PING with PONG/);
    expect(messages).toMatch(/presents the pinned host key SHA256:/);
    const triggers = shipped.eventing.filter((object) => object.kind === 'Trigger');
    expect(triggers.length).toBeGreaterThan(5);
    expect(report.results.filter((result) => result.check === 'trigger')).toHaveLength(triggers.length);

    const kubeconfig = await cluster.emulator.kubeconfigFile('admin');
    const env = { ...process.env, REDIS_REST_URL: '', REDIS_REST_TOKEN: '' };
    const cli = await run(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', 'doctor', '--kubeconfig', kubeconfig],
      {
        env,
        timeout: 45_000,
      },
    );
    expect(cli.stdout).toMatch(/^✓ the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+ answers/m);
    expect(cli.stdout).toMatch(/^- Redis REST endpoint skipped: pass --redis-url/m);
    expect(cli.stdout).toMatch(/passed, 0 failed, 2 skipped$/m);
  });

  it('exits 1 and prints JSON with the failure when a Secret is missing', async () => {
    cluster.drop('v1', 'Secret', 'heapdump', 'heapdump-sftp-client');
    const kubeconfig = await cluster.emulator.kubeconfigFile('admin');
    const failed = await run(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', 'doctor', '--json', '--kubeconfig', kubeconfig],
      {
        env: { ...process.env, REDIS_REST_URL: '', REDIS_REST_TOKEN: '' },
        timeout: 45_000,
      },
    ).catch((error: { code: number; stdout: string }) => error);
    expect((failed as { code?: number }).code).toBe(1);
    const report = JSON.parse(failed.stdout) as { ok: boolean; results: CheckResult[] };
    expect(report.ok).toBe(false);
    expect(failures(report.results)).toEqual([
      {
        check: 'secrets upload-dump',
        outcome: 'fail',
        message: 'upload-dump: Secret heapdump/heapdump-sftp-client does not exist',
        fix: expect.stringMatching(
          /^kubectl -n heapdump create secret generic heapdump-sftp-client --from-file=id_ed25519=<file> --from-file=host_key\.pub=<file>/,
        ),
      },
    ]);
  });
});

describe('heapdump doctor names each broken precondition with its fix', { timeout: 60_000 }, () => {
  it.each(breakages)('$name', async ({ breakIt, expected }) => {
    breakIt(cluster);
    const report = await doctor();
    expect(report.ok).toBe(false);
    const failed = failures(report.results);
    expect(failed.map((result) => result.check).sort()).toEqual(expected.map((e) => e.check).sort());
    for (const want of expected)
      expect(
        failed.some(
          (result) =>
            result.check === want.check &&
            want.message.test(result.message) &&
            want.fix.test(result.fix ?? ''),
        ),
        `${want.check}: ${want.message}\n${JSON.stringify(failed, null, 1)}`,
      ).toBe(true);
  });

  it('a wrong Redis token and a different SFTP host key', async () => {
    const other = ssh2.utils.generateKeyPairSync('ed25519').public;
    const report = await doctor({
      redis: { url: redis.restUrl, token: 'wrong' },
      sftp: { ...sftpOptions, hostKey: other },
    });
    const failed = failures(report.results);
    expect(failed.map((result) => result.check)).toEqual(['redis', 'sftp']);
    expect(failed[0]!.fix).toMatch(/kubectl -n heapdump get secret heapdump-redis/);
    expect(failed[1]!.message).toMatch(
      /presents host key SHA256:\S+, not the pinned SHA256:\S+: upload-dump would refuse it$/,
    );
    expect(failed[1]!.fix).toMatch(/key host_key\.pub/);
  });

  it('an API server that does not answer: says so, skips what needs it', async () => {
    const unreachable = cluster.emulator
      .kubeconfigFor('admin')
      .replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:1');
    const report = await doctor({}, unreachable);
    expect(failures(report.results)).toEqual([
      expect.objectContaining({
        check: 'api-server',
        message: expect.stringMatching(/^could not check api-server: /),
        fix: expect.stringMatching(/current-context/),
      }),
    ]);
    expect(report.results.filter((result) => result.outcome === 'skip').length).toBeGreaterThanOrEqual(8);
  });
});

describe('kubectl against the emulator', () => {
  it('get brokers,triggers -n heapdump prints the CRDs printer columns', async () => {
    const { stdout } = await run('kubectl', ['get', 'brokers,triggers', '-n', 'heapdump'], {
      env: { ...process.env, KUBECONFIG: await cluster.emulator.kubeconfigFile('admin') },
      timeout: 30_000,
    });
    expect(stdout).toMatch(/^NAME\s+URL\s+AGE\s+READY\s+REASON$/m);
    expect(stdout).toMatch(
      /^broker\.eventing\.knative\.dev\/heapdump\s+http:\/\/broker-ingress\.knative-eventing\.svc\.cluster\.local\/heapdump\/heapdump\s+\S+\s+True\s*$/m,
    );
    expect(stdout).toMatch(/^NAME\s+BROKER\s+SUBSCRIBER_URI\s+AGE\s+READY\s+REASON$/m);
    expect(stdout).toMatch(
      /^trigger\.eventing\.knative\.dev\/exec-dump-dump-approved\s+heapdump\s+http:\/\/exec-dump\.heapdump\.svc\.cluster\.local\s+\S+\s+True\s*$/m,
    );
  });
});
