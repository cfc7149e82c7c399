import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTokenGrants } from '../../dev/kube-emulator/index.ts';
import { PermanentError, TransientError } from '../../functions/lib/errors.ts';
import { startTestKubeEmulator, type TestKubeEmulator } from '../../test/helpers/kube-emulator.ts';
import { createKubernetes, type Kubernetes, loadKubeConfig } from './index.ts';

let emulator: TestKubeEmulator;
let execDump: Kubernetes;
const app = { namespace: 'shop', pod: 'app-1', container: 'app' };

beforeAll(async () => {
  const tokens = { ...defaultTokenGrants(), nobody: { user: 'nobody', token: 'nobody-token', rules: [] } };
  emulator = await startTestKubeEmulator({ podsFile: 'test/fixtures/pods/basic.yaml', tokens });
  await emulator.addPods(
    'metadata: { name: restarting, namespace: shop }\nspec: { containers: [{ name: c, command: [sh, -c, "exit 1"] }] }',
  );
  execDump = createKubernetes(loadKubeConfig({ KUBECONFIG: await emulator.kubeconfigFile('exec-dump') }));
});
afterAll(() => emulator?.stop());

describe('getPod', () => {
  it('returns the pod as plain API JSON (the shape ApiServerSource events carry)', async () => {
    const decideDump = createKubernetes(emulator.kubeConfig('decide-dump'));
    const pod = await decideDump.getPod('shop', 'app-1');
    expect(pod?.metadata).toMatchObject({
      name: 'app-1',
      namespace: 'shop',
      labels: { 'heapdump.dev/enabled': 'true' },
    });
    expect(pod?.spec.containers.map((container) => container.name)).toEqual(['app']);
    expect(pod?.status?.containerStatuses?.[0]?.state?.running?.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('returns null for a pod that does not exist', async () => {
    expect(await execDump.getPod('shop', 'gone')).toBeNull();
  });

  it('is permanent when RBAC forbids it, transient when the API server is down', async () => {
    const nobody = createKubernetes(emulator.kubeConfig('nobody'));
    const forbidden = await nobody.getPod('shop', 'app-1').catch((error: unknown) => error);
    expect(forbidden).toBeInstanceOf(PermanentError);
    expect((forbidden as Error).message).toContain('cannot get resource "pods"');
    const path = join(emulator.kubeconfigPath, '..', 'down.kubeconfig');
    await writeFile(path, emulator.kubeconfigFor('admin').replace(emulator.url, 'https://127.0.0.1:1'));
    const down = createKubernetes(loadKubeConfig({ KUBECONFIG: path }));
    const error = await down.getPod('shop', 'app-1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).code).toBe(503);
  });
});

describe('exec', () => {
  it('collects stdout, stderr and the exit code; a non-zero exit is a result', async () => {
    const result = await execDump.exec(app, ['sh', '-c', 'cat; printf E >&2; exit 5'], {
      stdin: 'in',
      timeoutMs: 5000,
    });
    expect(result).toEqual({ exitCode: 5, stdout: Buffer.from('in'), stderr: 'E' });
  });

  it('fails permanently past the stdout cap and transiently at the timeout, killing the command', async () => {
    const capped = execDump.exec(app, ['head', '-c', '100000', '/dev/zero'], {
      timeoutMs: 5000,
      maxStdoutBytes: 1000,
    });
    await expect(capped).rejects.toThrow(PermanentError);
    const slow = execDump.exec(app, ['sleep', '77'], { timeoutMs: 300 });
    await expect(slow).rejects.toThrow(/no result after 300 ms/);
    await expect
      .poll(async () =>
        (await execDump.exec(app, ['ps', '-eo', 'args'], { timeoutMs: 5000 })).stdout.toString(),
      )
      .not.toContain('sleep 77');
  });

  it('maps refusals: no exec right → permanent, unknown container → permanent, not running → transient', async () => {
    const decideDump = createKubernetes(emulator.kubeConfig('decide-dump'));
    await expect(decideDump.exec(app, ['true'], { timeoutMs: 5000 })).rejects.toThrow(
      expect.objectContaining({ code: 422, message: expect.stringContaining('forbidden') }),
    );
    await expect(execDump.exec({ ...app, container: 'nope' }, ['true'], { timeoutMs: 5000 })).rejects.toThrow(
      expect.objectContaining({ code: 422, message: expect.stringContaining('container nope is not valid') }),
    );
    await expect
      .poll(() => emulator.pod('shop', 'restarting')?.status as { containerStatuses: { state: object }[] })
      .toMatchObject({ containerStatuses: [{ state: { waiting: { reason: 'CrashLoopBackOff' } } }] });
    await expect(
      execDump.exec({ namespace: 'shop', pod: 'restarting', container: 'c' }, ['true'], { timeoutMs: 5000 }),
    ).rejects.toThrow(TransientError);
  });
});

describe('execStream', () => {
  it('streams stdout and reports the end separately', async () => {
    const stream = execDump.execStream(app, ['sh', '-c', 'seq 1 100000; echo bye >&2; exit 4']);
    const output = await text(stream.stdout);
    expect(output.split('\n')).toHaveLength(100001);
    expect(await stream.done).toEqual({ exitCode: 4, stderr: 'bye\n' });
  });

  it('abort() fails both sides and ends the command in the pod', async () => {
    const stream = execDump.execStream(app, ['sh', '-c', 'while :; do echo tick; sleep 0.05; done']);
    await new Promise((resolve) => stream.stdout.once('data', resolve));
    const stdoutError = new Promise((resolve) => stream.stdout.once('error', resolve));
    stream.abort(new Error('enough'));
    await expect(stream.done).rejects.toThrow('enough');
    expect(await stdoutError).toBeInstanceOf(Error);
    await expect
      .poll(async () =>
        (await execDump.exec(app, ['ps', '-eo', 'args'], { timeoutMs: 5000 })).stdout.toString(),
      )
      .not.toContain('while :');
  });
});
