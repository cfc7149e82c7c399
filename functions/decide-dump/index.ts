import { z } from 'zod';
import { createKubernetes, loadKubeConfig } from '../../adapters/kubernetes/index.ts';
import { storeFromConfig } from '../../adapters/redis-store/index.ts';
import { redisConfig } from '../lib/config.ts';
import { defineModule } from '../lib/runtime.ts';
import { createDecideDump } from './handler.ts';
import { meta } from './meta.ts';

/** KUBECONFIG names a kubeconfig file in development; in a cluster the service account is used. */
const config = redisConfig.extend({
  HEAPDUMP_KUBE_TIMEOUT_SECONDS: z.coerce.number().positive().default(10),
  /** A container with no restart count recorded yet counts as restarted if its last run ended this recently. */
  HEAPDUMP_RESTART_WINDOW_SECONDS: z.coerce.number().int().positive().default(600),
});

const module = defineModule({
  meta,
  config,
  create: (env, { log, events }) =>
    createDecideDump({
      store: storeFromConfig(env),
      pods: createKubernetes(loadKubeConfig(), {
        requestTimeoutMs: env.HEAPDUMP_KUBE_TIMEOUT_SECONDS * 1000,
      }),
      events,
      log,
      restartWindowMs: env.HEAPDUMP_RESTART_WINDOW_SECONDS * 1000,
    }),
});

export const init = module.init;
export const handle = module.handle;
