import type { EventType } from './events/index.ts';

/**
 * What a function consumes, what it can reply or post, and which Kubernetes API calls it makes.
 * Handlers parse with `accepts`, and the manifests are checked against all three, so Triggers and RBAC
 * follow the code instead of a list kept by hand.
 */
export interface FunctionMeta {
  name: string;
  accepts: readonly EventType[];
  /** Reply events (published by the Broker) and events posted to K_SINK. */
  emits: readonly EventType[];
  /** `verb resource` pairs, e.g. `get pods`, `create pods/exec`. */
  kubernetes: readonly string[];
}

export function defineFunction<const M extends FunctionMeta>(meta: M): M {
  return meta;
}
