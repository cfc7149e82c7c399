import { storeFromConfig } from '../../adapters/redis-store/index.ts';
import { redisConfig } from '../lib/config.ts';
import { defineModule } from '../lib/runtime.ts';
import { sinkConfig, sinkPosterFromConfig } from '../lib/sink-poster.ts';
import { createReleaseToken } from './handler.ts';
import { meta } from './meta.ts';

/** K_SINK: the Broker's ingress, injected by the release-token SinkBinding. */
const config = redisConfig.extend(sinkConfig.shape);

const module = defineModule({
  meta,
  config,
  create: (env, { log, events }) =>
    createReleaseToken({
      store: storeFromConfig(env),
      events,
      postToSink: sinkPosterFromConfig(env, meta.name),
      log,
    }),
});

export const init = module.init;
export const handle = module.handle;
