import { stringify } from 'yaml';

/** A kubeconfig that points kubectl (or @kubernetes/client-node) at the emulator with one bearer token. */
export function kubeconfigYaml(
  server: string,
  caCert: string,
  user: string,
  token: string,
  namespace = 'default',
): string {
  const context = 'heapdump-emulator';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: context,
        cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: context, context: { cluster: context, user, namespace } }],
    'current-context': context,
    preferences: {},
  });
}
