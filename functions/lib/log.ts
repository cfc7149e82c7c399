import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    name: options.name,
    base: { fn: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A child logger that stamps every line with the dump and the trace it belongs to. */
export function logFor(
  log: Logger,
  event: { id?: string; type?: string; dumpid?: unknown; traceparent?: unknown },
): Logger {
  const traceparent = typeof event.traceparent === 'string' ? event.traceparent : undefined;
  return log.child({
    eventid: event.id,
    eventtype: event.type,
    dumpid: typeof event.dumpid === 'string' ? event.dumpid : undefined,
    traceid: traceparent?.split('-')[1],
  });
}
