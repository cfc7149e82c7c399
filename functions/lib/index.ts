export * from './config.ts';
export * from './errors.ts';
export * from './events/index.ts';
export * from './handler.ts';
export * from './log.ts';
