import { z } from 'zod';
import { storeFromConfig } from '../../adapters/redis-store/index.ts';
import { redisConfig } from '../lib/config.ts';
import { defineModule } from '../lib/runtime.ts';
import { createReleaseToken } from './handler.ts';
import { meta } from './meta.ts';
import { createSinkPoster } from './sink.ts';

const config = redisConfig.extend({
  /** The Broker's ingress, injected by the release-token SinkBinding. */
  K_SINK: z.url(),
  HEAPDUMP_SINK_TIMEOUT_SECONDS: z.coerce.number().positive().default(10),
});

const module = defineModule({
  meta,
  config,
  create: (env, { log, events }) =>
    createReleaseToken({
      store: storeFromConfig(env),
      events,
      postToSink: createSinkPoster(env.K_SINK, { timeoutMs: env.HEAPDUMP_SINK_TIMEOUT_SECONDS * 1000 }),
      log,
    }),
});

export const init = module.init;
export const handle = module.handle;
