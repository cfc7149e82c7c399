import type { z } from 'zod';
import { assertCloudEvent } from './cloudevent-input.ts';
import { loadConfig } from './config.ts';
import { TransientError } from './errors.ts';
import { createEventFactory, type EventFactory } from './events/index.ts';
import type { FunctionMeta } from './function-meta.ts';
import { type Handler, withErrorMapping } from './handler.ts';
import { createLogger, type Logger } from './log.ts';

export interface BaseDeps {
  log: Logger;
  events: EventFactory;
}

/**
 * What a function's index.ts exports for faas-js-runtime: `init` reads config once and wires the adapters,
 * `handle` delegates to the handler, whose failures leave with their HTTP status.
 */
export function defineModule<S extends z.ZodType>(options: {
  meta: FunctionMeta;
  config: S;
  create: (config: z.infer<S>, base: BaseDeps) => Handler | Promise<Handler>;
  env?: Record<string, string | undefined>;
}) {
  let handler: Handler | undefined;
  return {
    async init(): Promise<void> {
      const config = loadConfig(options.config, options.env ?? process.env);
      const log = createLogger({
        name: options.meta.name,
        level: (config as { LOG_LEVEL?: string }).LOG_LEVEL,
      });
      const warn = (message: string, fields: Record<string, unknown>) => log.warn(fields, message);
      const base = { log, events: createEventFactory(options.meta.name, { warn }) };
      handler = withErrorMapping(await options.create(config, base), log);
    },
    handle: ((ctx, event) => {
      if (!handler) throw new TransientError(`${options.meta.name} is not initialised yet`);
      assertCloudEvent(ctx, event);
      return handler(ctx, event);
    }) as Handler,
  };
}
