import { KubeConfig } from '@kubernetes/client-node';

/**
 * The KubeConfig a function uses: an explicit kubeconfig file (`KUBECONFIG`, as in development against the
 * emulator), else the pod's service account when running in a cluster, else the user's default kubeconfig.
 */
export function loadKubeConfig(env: Record<string, string | undefined> = process.env): KubeConfig {
  const kubeConfig = new KubeConfig();
  const path = env.KUBECONFIG?.split(':').find(Boolean);
  if (path) kubeConfig.loadFromFile(path);
  else if (env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

/** A KubeConfig from kubeconfig YAML text (tests hand in the emulator's). */
export function kubeConfigFromYaml(yaml: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(yaml);
  return kubeConfig;
}
