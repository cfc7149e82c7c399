import { z } from 'zod';
import { createKubernetes, loadKubeConfig } from '../../adapters/kubernetes/index.ts';
import { storeFromConfig } from '../../adapters/redis-store/index.ts';
import { redisConfig } from '../lib/config.ts';
import { defineModule } from '../lib/runtime.ts';
import { createExecDump, defaultSpaceFactor, defaultTimeouts } from './handler.ts';
import { meta } from './meta.ts';

const seconds = z.coerce.number().positive();

/** KUBECONFIG names a kubeconfig file in development; in a cluster the service account is used. */
const config = redisConfig.extend({
  HEAPDUMP_KUBE_TIMEOUT_SECONDS: seconds.default(10),
  /** Each small command run in the pod (jcmd -l, VM.flags, df, find). */
  HEAPDUMP_EXEC_TIMEOUT_SECONDS: seconds.default(defaultTimeouts.commandMs / 1000),
  /** The dump itself; below the Trigger's 300 s per attempt. A dump still running then is found by the retry. */
  HEAPDUMP_DUMP_TIMEOUT_SECONDS: seconds.default(defaultTimeouts.dumpMs / 1000),
  /** A file that keeps its size this long is complete (collect, and a retry's earlier file). */
  HEAPDUMP_SETTLE_SECONDS: z.coerce
    .number()
    .nonnegative()
    .default(defaultTimeouts.settleMs / 1000),
  /** Free space the dump dir needs before a live dump, as a multiple of the heap in use. */
  HEAPDUMP_SPACE_FACTOR: z.coerce.number().positive().default(defaultSpaceFactor),
});

const module = defineModule({
  meta,
  config,
  create: (env, { log, events }) => {
    const store = storeFromConfig(env);
    return createExecDump({
      kube: createKubernetes(loadKubeConfig(), {
        requestTimeoutMs: env.HEAPDUMP_KUBE_TIMEOUT_SECONDS * 1000,
      }),
      leases: store.pools,
      records: store.records,
      events,
      log,
      timeouts: {
        commandMs: env.HEAPDUMP_EXEC_TIMEOUT_SECONDS * 1000,
        dumpMs: env.HEAPDUMP_DUMP_TIMEOUT_SECONDS * 1000,
        settleMs: env.HEAPDUMP_SETTLE_SECONDS * 1000,
      },
      spaceFactor: env.HEAPDUMP_SPACE_FACTOR,
    });
  },
});

export const init = module.init;
export const handle = module.handle;
