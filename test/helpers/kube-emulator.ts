import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfigFromYaml } from '../../adapters/kubernetes/index.ts';
import {
  type KubeEmulator,
  type KubeEmulatorOptions,
  startKubeEmulator,
} from '../../dev/kube-emulator/index.ts';

export interface TestKubeEmulator extends KubeEmulator {
  /** A KubeConfig for one of the emulator's tokens (default `admin`; functions' own: `decide-dump`, ...). */
  kubeConfig(tokenName?: string): KubeConfig;
  /** Writes a kubeconfig file for the token and returns its path (for kubectl or a function's KUBECONFIG). */
  kubeconfigFile(tokenName?: string): Promise<string>;
}

/**
 * The Kubernetes API emulator for a test: the given pods (YAML text, manifests, or `podsFile`) on a free
 * loopback port, restarts quicker than the kubelet's 10 s back-off. Call stop() in afterAll: it kills every
 * container process and removes the pods' directories.
 */
export async function startTestKubeEmulator(options: KubeEmulatorOptions = {}): Promise<TestKubeEmulator> {
  const emulator = await startKubeEmulator({
    host: '127.0.0.1',
    port: 0,
    ...options,
    timing: { backoffBaseMs: 200, backoffMaxMs: 2000, ...options.timing },
  });
  const dir = join(emulator.kubeconfigPath, '..');
  return {
    ...emulator,
    kubeConfig: (tokenName = 'admin') => kubeConfigFromYaml(emulator.kubeconfigFor(tokenName)),
    async kubeconfigFile(tokenName = 'admin') {
      const path = join(dir, `${tokenName}.kubeconfig`);
      await emulator.writeKubeconfig(path, tokenName);
      return path;
    },
  };
}
