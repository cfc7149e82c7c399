import { ValidationError } from 'cloudevents';
import { BadRequestError } from './errors.ts';
import type { AnyCloudEvent } from './events/index.ts';
import type { FunctionContext } from './handler.ts';

// faas-js-runtime passes the SDK's ValidationError (a CloudEvent without `source`, say) to fastify without a
// status, which answers 500, and the Broker would retry garbage. The SDK is CommonJS, so this is the very
// class the runtime sees: giving it a status makes those requests 400 with the SDK's own message.
Object.defineProperty(ValidationError.prototype, 'statusCode', { value: 400, configurable: true });

const required = ['specversion', 'id', 'source', 'type'] as const;

/**
 * faas-js-runtime invokes a CloudEvent function with the plain body when the request is not a CloudEvent
 * (no `ce-id` header, or a structured body that is not JSON). Such a request is refused here, saying what
 * was missing, before any handler sees it.
 */
export function assertCloudEvent(ctx: FunctionContext, event: unknown): asserts event is AnyCloudEvent {
  if (event && typeof event === 'object') {
    const missing = required.filter((name) => typeof (event as Record<string, unknown>)[name] !== 'string');
    if (missing.length === 0) return;
  }
  const header = (name: string) => ctx.headers?.[name];
  const contentType = String(header('content-type') ?? '');
  if (contentType.startsWith('application/cloudevents+json')) {
    throw new BadRequestError(
      'not a CloudEvent: a structured-mode body must be a JSON object with specversion, id, source and type',
    );
  }
  const missing = required.filter((name) => !header(`ce-${name}`)).map((name) => `ce-${name}`);
  throw new BadRequestError(
    `not a CloudEvent: missing header${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (binary mode), ` +
      'or send content-type application/cloudevents+json (structured mode)',
  );
}
