import { randomBytes } from 'node:crypto';
import { type CloudEvent, type CloudEventV1, HTTP } from 'cloudevents';
import type { Store } from '../../adapters/redis-store/index.ts';
import type { KubeEmulatorOptions } from '../../dev/kube-emulator/index.ts';
import { postEvent } from '../broker/services.ts';
import { type FunctionServer, startFunctionServer } from '../helpers/function-server.ts';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { keysUnder } from './fixtures.ts';

export interface Answer {
  status: number;
  /** The reply event (binary mode, as faas-js-runtime answers), when there is one. */
  event?: CloudEvent<Record<string, unknown>>;
  text: string;
}

export interface DecideServer {
  server: FunctionServer;
  /** A store on the server's key prefix, to look at (and, as release-token would, change) what it wrote. */
  store: Store;
  send(
    event: CloudEventV1<unknown>,
    mode?: 'binary' | 'structured',
    headers?: Record<string, string>,
  ): Promise<Answer>;
  post(body: string, headers: Record<string, string>): Promise<Answer>;
  keys(): Promise<string[]>;
}

/**
 * A real redis-server, the Kubernetes API emulator with the given pods, and decide-dump served by
 * faas-js-runtime in a child process, reading pods with decide-dump's own least-privilege token.
 * `decideDump()` starts one more server on a fresh key prefix (with its own pool capacity).
 */
export async function startDecideStack(emulatorOptions: KubeEmulatorOptions) {
  const redis: TestRedis = await startTestRedis();
  const servers: FunctionServer[] = [];
  let emulator: TestKubeEmulator | undefined;
  try {
    emulator = await startTestKubeEmulator(emulatorOptions);
  } catch (error) {
    await redis.stop();
    throw error;
  }
  const kubeconfig = await emulator.kubeconfigFile('decide-dump');

  async function decideDump(options: { capacity?: number } = {}): Promise<DecideServer> {
    const prefix = `it-${randomBytes(4).toString('hex')}:`;
    const capacity = options.capacity ?? 1;
    const server = await startFunctionServer('decide-dump', {
      env: {
        ...redis.env,
        HEAPDUMP_KEY_PREFIX: prefix,
        KUBECONFIG: kubeconfig,
        HEAPDUMP_DUMP_POOL_CAPACITY: String(capacity),
        HEAPDUMP_UPLOAD_POOL_CAPACITY: String(capacity),
      },
    });
    servers.push(server);
    const answer = async (response: Response): Promise<Answer> => {
      const text = await response.text();
      const headers = Object.fromEntries(response.headers);
      const event =
        response.status === 200 && headers['ce-id']
          ? (HTTP.toEvent({ headers, body: text }) as CloudEvent<Record<string, unknown>>)
          : undefined;
      return { status: response.status, event, text };
    };
    return {
      server,
      store: redis.store({ prefix, pools: { dump: { capacity }, upload: { capacity } } }),
      send: async (event, mode = 'binary', headers = {}) =>
        answer(await postEvent(server.url, event, { mode, headers })),
      post: async (body, headers) => answer(await fetch(server.url, { method: 'POST', headers, body })),
      keys: () => keysUnder(redis, prefix),
    };
  }

  return {
    redis,
    emulator,
    decideDump,
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
      await emulator?.stop();
      await redis.stop();
    },
  };
}
export type DecideStack = Awaited<ReturnType<typeof startDecideStack>>;

/** A long-running container that costs nothing: `sleep 3600`. */
export function sleepingPod(
  namespace: string,
  name: string,
  extra: { labels?: string; annotations?: string } = {},
) {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: { heapdump.dev/enabled: "true"${extra.labels ? `, ${extra.labels}` : ''} }
  annotations: { ${extra.annotations ?? ''} }
spec:
  containers:
    - name: app
      command: [sleep, "3600"]
---
`;
}
