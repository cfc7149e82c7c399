import { type Check, pass } from '../check.ts';

/** The gate: without an API server that answers, every cluster check is skipped. */
export const apiServer: Check = {
  name: 'api-server',
  needsCluster: false,
  async run({ cluster }) {
    const version = await cluster.version();
    return [pass('api-server', `the Kubernetes API server at ${cluster.server} answers (${version})`)];
  },
};
