export { type BrokerOptions, type Resolver, type RunningBroker, startBroker } from './broker.ts';
export { backoffMs, ERROR_DATA_MAX, isRetryable } from './delivery-policy.ts';
export { DEFAULT_TTL } from './ingress.ts';
export type { HopKind, TraceEntry } from './trace.ts';
export {
  type Delivery,
  type Destination,
  durationMs,
  loadTriggers,
  type Reference,
  type Trigger,
} from './triggers.ts';
