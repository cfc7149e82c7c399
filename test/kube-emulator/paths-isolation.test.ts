import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetes, type Kubernetes } from '../../adapters/kubernetes/index.ts';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';

/** The fallback for hosts where unshare is not allowed: plain processes, mount paths rewritten in argv. */
describe('isolation: paths', () => {
  let emulator: TestKubeEmulator;
  let kube: Kubernetes;
  const app = { namespace: 'shop', pod: 'app-1', container: 'app' };

  beforeAll(async () => {
    emulator = await startTestKubeEmulator({ podsFile: 'test/fixtures/pods/basic.yaml', isolation: 'paths' });
    kube = createKubernetes(emulator.kubeConfig());
  });
  afterAll(() => emulator?.stop());

  it('maps /dumps in argv to the pod’s volume directory on the host', async () => {
    expect(emulator.isolation).toBe('paths');
    const touched = await kube.exec(app, ['touch', '/dumps/marker'], { timeoutMs: 5000 });
    expect(touched.exitCode).toBe(0);
    expect(await readdir(emulator.volumePath('shop', 'app-1', 'dumps')!)).toEqual(['marker']);
    const listed = await kube.exec(app, ['ls', '/dumps'], { timeoutMs: 5000 });
    expect(listed.stdout.toString()).toBe('marker\n');
  });

  it('gives the container its env, including fieldRefs', async () => {
    const env = await kube.exec(app, ['env'], { timeoutMs: 5000 });
    expect(env.stdout.toString()).toMatch(/^GREETING=hello$/m);
    expect(env.stdout.toString()).toMatch(/^POD_NAME=app-1$/m);
  });
});
