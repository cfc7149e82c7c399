import { z } from 'zod';
import { loadConfig, redisConfig } from '../lib/config.ts';
import { TransientError, toHttpError } from '../lib/errors.ts';
import { createEventFactory } from '../lib/events/index.ts';
import { createLogger } from '../lib/log.ts';
import { sinkConfig, sinkPosterFromConfig } from '../lib/sink-poster.ts';
import { type AlertBridge, createAlertBridge } from './handler.ts';
import { meta } from './meta.ts';

const config = z.object({
  /** Or ALERT_BRIDGE_TOKEN_FILE, a mounted Secret. */
  ALERT_BRIDGE_TOKEN: z.string().min(16, 'use a random token of at least 16 characters'),
  /** K_SINK: the Broker's ingress, injected by the alert-bridge SinkBinding. */
  ...sinkConfig.shape,
  LOG_LEVEL: redisConfig.shape.LOG_LEVEL,
});

let bridge: AlertBridge | undefined;

/** faas-js-runtime calls init once; the request body limit is the runtime's (FUNC_BODY_LIMIT, default 1 MiB). */
export async function init(): Promise<void> {
  const env = loadConfig(config);
  const log = createLogger({ name: meta.name, level: env.LOG_LEVEL });
  bridge = createAlertBridge({
    token: env.ALERT_BRIDGE_TOKEN,
    events: createEventFactory(meta.name, { warn: (message, fields) => log.warn(fields, message) }),
    postToSink: sinkPosterFromConfig(env, meta.name),
    log,
  });
}

/** Every failure leaves with a numeric `code`, the HTTP status faas-js-runtime answers with. */
export const handle: AlertBridge = async (ctx, body) => {
  try {
    if (!bridge) throw new TransientError(`${meta.name} is not initialised yet`);
    return await bridge(ctx, body);
  } catch (error) {
    throw toHttpError(error);
  }
};
