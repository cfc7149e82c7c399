import { PassThrough } from 'node:stream';
import { CoreV1Api, Exec, type V1Pod, type V1Status, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';
import { execPath, rawExec, rawRequest } from './api-client.ts';

let emulator: TestKubeEmulator;
let core: CoreV1Api;

beforeAll(async () => {
  emulator = await startTestKubeEmulator({ podsFile: 'test/fixtures/pods/basic.yaml' });
  core = emulator.kubeConfig().makeApiClient(CoreV1Api);
});
afterAll(() => emulator?.stop());

describe('CoreV1Api against the emulator', () => {
  it('lists pods in all namespaces and one, with label and field selectors', async () => {
    const all = await core.listPodForAllNamespaces();
    expect(all.items.map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`).sort()).toEqual([
      'default/two-containers',
      'shop/app-1',
    ]);
    expect(Number(all.metadata?.resourceVersion)).toBeGreaterThan(0);
    const byLabel = await core.listPodForAllNamespaces({
      labelSelector: 'heapdump.dev/enabled=true,app in (shop,x)',
    });
    expect(byLabel.items.map((pod) => pod.metadata?.name)).toEqual(['app-1']);
    const byField = await core.listNamespacedPod({
      namespace: 'default',
      fieldSelector: 'metadata.name=two-containers',
    });
    expect(byField.items).toHaveLength(1);
    const none = await core.listNamespacedPod({ namespace: 'default', labelSelector: '!app' });
    expect(none.items).toEqual([]);
  });

  it('reads a pod with a real PodStatus', async () => {
    const pod = await core.readNamespacedPod({ namespace: 'shop', name: 'app-1' });
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.podIP).toBe('127.0.0.1');
    expect(pod.spec?.nodeName).toBe('kube-emulator');
    const [status] = pod.status?.containerStatuses ?? [];
    expect(status).toMatchObject({ name: 'app', ready: true, restartCount: 0 });
    expect(status?.state?.running?.startedAt).toBeInstanceOf(Date);
  });

  it('answers unknown pods and bad selectors with a Status', async () => {
    await expect(core.readNamespacedPod({ namespace: 'shop', name: 'nope' })).rejects.toMatchObject({
      code: 404,
      body: expect.stringContaining('pods \\"nope\\" not found'),
    });
    await expect(
      core.listNamespacedPod({ namespace: 'shop', fieldSelector: 'spec.bogus=1' }),
    ).rejects.toMatchObject({
      code: 400,
    });
  });
});

describe('Watch against the emulator', () => {
  it('streams ADDED, MODIFIED (a container restart) and DELETED for matching pods', async () => {
    const events: { type: string; pod: V1Pod }[] = [];
    const list = await core.listNamespacedPod({ namespace: 'default' });
    const controller = await new Watch(emulator.kubeConfig()).watch(
      '/api/v1/namespaces/default/pods',
      { labelSelector: 'app=flaky', resourceVersion: list.metadata?.resourceVersion },
      (type, pod: V1Pod) => events.push({ type, pod }),
      () => {},
    );
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'flaky', labels: { app: 'flaky' } },
        spec: { containers: [{ name: 'c', image: 'none', command: ['sh', '-c', 'sleep 0.3; exit 3'] }] },
      },
    });
    await expect
      .poll(() =>
        events.find((e) => e.type === 'MODIFIED' && e.pod.status?.containerStatuses?.[0]?.restartCount === 1),
      )
      .toBeTruthy();
    const restarted = events.find((e) => e.pod.status?.containerStatuses?.[0]?.restartCount === 1)!;
    expect(restarted.pod.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
    });
    await core.deleteNamespacedPod({ namespace: 'default', name: 'flaky' });
    await expect.poll(() => events.at(-1)?.type).toBe('DELETED');
    expect(events[0]?.type).toBe('ADDED');
    expect(events.every((e) => e.pod.metadata?.name === 'flaky')).toBe(true);
    controller.abort();
  });

  it('replays what happened after the given resourceVersion and ends at timeoutSeconds', async () => {
    const { status, body } = await rawRequest(
      emulator.url,
      emulator.caCert,
      '/api/v1/namespaces/shop/pods?watch=true&resourceVersion=1&timeoutSeconds=1',
      { token: emulator.tokens.admin },
    );
    expect(status).toBe(200);
    const events = String(body)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; object: V1Pod });
    expect(events[0]).toMatchObject({
      type: 'ADDED',
      object: { metadata: { name: 'app-1', namespace: 'shop' } },
    });
    expect(events.every((event) => event.object.metadata?.namespace === 'shop')).toBe(true);
  });
});

describe('Exec against the emulator', () => {
  const run = async (command: string[], container = 'app', stdin?: string) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    const status = await new Promise<V1Status>((resolve, reject) => {
      const input = stdin === undefined ? null : PassThrough.from([stdin]);
      new Exec(emulator.kubeConfig())
        .exec('shop', 'app-1', container, command, stdout, stderr, input, false, resolve)
        .catch(reject);
    });
    return { status, stdout: Buffer.concat(chunks).toString(), stderr: Buffer.concat(errors).toString() };
  };

  it('runs argv with stdin and reports the exit code in the Status (v5)', async () => {
    const result = await run(['sh', '-c', 'cat; echo oops >&2; exit 7'], 'app', 'from stdin');
    expect(result.stdout).toBe('from stdin');
    expect(result.stderr).toBe('oops\n');
    expect(result.status).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '7' }] },
    });
    expect((await run(['true'])).status).toMatchObject({ status: 'Success' });
  });

  it('runs shell metacharacters literally, never through a shell', async () => {
    const literal = '$(touch /tmp/pwned); `id` | cat > /dumps/x && echo *';
    const result = await run(['echo', literal]);
    expect(result.stdout).toBe(`${literal}\n`);
    expect((await run(['ls', '-A', '/dumps'])).stdout).toBe('');
  });

  it('speaks v4.channel.k8s.io to a client that offers only v4', async () => {
    const path = execPath('shop', 'app-1', {
      command: ['sh', '-c', 'echo four; exit 2'],
      stdout: 'true',
      stderr: 'true',
    });
    const result = await rawExec(emulator.url, emulator.caCert, emulator.tokens.admin!, path, [
      'v4.channel.k8s.io',
    ]);
    expect(result.protocol).toBe('v4.channel.k8s.io');
    expect(result.channels[1]?.toString()).toBe('four\n');
    expect(result.status).toMatchObject({
      status: 'Failure',
      details: { causes: [{ reason: 'ExitCode', message: '2' }] },
    });
  });

  it('closes stdin on a v5 close frame', async () => {
    const path = execPath('shop', 'app-1', { command: ['wc', '-c'], stdin: 'true', stdout: 'true' });
    const result = await rawExec(
      emulator.url,
      emulator.caCert,
      emulator.tokens.admin!,
      path,
      ['v5.channel.k8s.io'],
      '12345',
    );
    expect(result.protocol).toBe('v5.channel.k8s.io');
    expect(result.channels[1]?.toString().trim()).toBe('5');
    expect(result.status).toEqual({ metadata: {}, status: 'Success' });
  });
});

describe('bad input gets a Kubernetes Status and the emulator keeps serving', () => {
  const admin = () => emulator.tokens.admin!;
  const exec = (
    token: string,
    pod: string,
    query: Record<string, string | string[]>,
    protocols = ['v5.channel.k8s.io'],
  ) =>
    rawExec(emulator.url, emulator.caCert, token, execPath('shop', pod, query), protocols).then(
      () => ({ status: 101, body: undefined }),
      (error: { status: number; body: unknown }) => ({ status: error.status, body: error.body }),
    );

  it.each([
    ['no token', undefined, 401, 'Unauthorized'],
    ['a wrong token', 'not-a-token', 401, 'Unauthorized'],
  ])('%s → 401', async (_what, token, code, reason) => {
    const response = await rawRequest(emulator.url, emulator.caCert, '/api/v1/pods', { token });
    expect(response).toEqual({
      status: code,
      body: expect.objectContaining({ kind: 'Status', code, reason }),
    });
  });

  it('a token without pods/exec → 403 naming the verb and resource', async () => {
    const response = await exec(emulator.tokens['decide-dump']!, 'app-1', {
      command: 'true',
      stdout: 'true',
    });
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({
      reason: 'Forbidden',
      message: expect.stringContaining('"pods/exec"'),
    });
    const list = await rawRequest(emulator.url, emulator.caCert, '/api/v1/pods', {
      token: emulator.tokens['decide-dump'],
    });
    expect(list.status).toBe(403);
  });

  it.each([
    ['an unknown pod', 'nope', { command: 'true', stdout: 'true' }, 404, 'pods "nope" not found'],
    [
      'an unknown container',
      'app-1',
      { command: 'true', container: 'nope', stdout: 'true' },
      400,
      'container nope is not valid for pod app-1',
    ],
    ['no command', 'app-1', { stdout: 'true' }, 400, 'you must specify at least 1 command'],
    [
      'no stream',
      'app-1',
      { command: 'true' },
      400,
      'you must specify at least one of stdin, stdout, stderr',
    ],
    ['a malformed flag', 'app-1', { command: 'true', stdout: 'yes please' }, 400, 'invalid value for stdout'],
  ])('%s → %s', async (_what, pod, query, code, message) => {
    const response = await exec(admin(), pod, query as Record<string, string>);
    expect(response).toEqual({
      status: code,
      body: expect.objectContaining({ kind: 'Status', code, message: expect.stringContaining(message) }),
    });
  });

  it('an unsupported subprotocol → 400', async () => {
    const response = await exec(admin(), 'app-1', { command: 'true', stdout: 'true' }, ['v3.channel.k8s.io']);
    expect(response).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('unsupported subprotocols') },
    });
  });

  it('a command that does not exist exits 127 with a message on stderr', async () => {
    const path = execPath('shop', 'app-1', { command: 'no-such-command', stdout: 'true', stderr: 'true' });
    const result = await rawExec(emulator.url, emulator.caCert, admin(), path, ['v5.channel.k8s.io']);
    expect(result.channels[2]?.toString()).toContain('no-such-command');
    expect(result.status.details?.causes?.[0]).toEqual({ reason: 'ExitCode', message: '127' });
  });

  it('still serves after all of that', async () => {
    const pod = await core.readNamespacedPod({ namespace: 'shop', name: 'app-1' });
    expect(pod.status?.phase).toBe('Running');
  });
});
