import type { KubeObject } from './cluster.ts';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export function conditionsOf(object: KubeObject): Condition[] {
  return ((object.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).filter(
    (condition) => typeof condition?.type === 'string',
  );
}

export function isReady(object: KubeObject): boolean {
  return conditionsOf(object).some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

/** Why an object is not Ready, from its conditions: `Ready False (Reason: message); IngressReady Unknown`. */
export function whyNotReady(object: KubeObject): string {
  const conditions = conditionsOf(object);
  if (!conditions.length) return 'no status conditions yet (its controller has not reconciled it)';
  const ready = conditions.find((condition) => condition.type === 'Ready');
  const others = conditions.filter((condition) => condition.type !== 'Ready' && condition.status !== 'True');
  return [ready ?? { type: 'Ready', status: 'missing' }, ...others].map(describe).join('; ');
}

function describe(condition: Condition): string {
  const detail = [condition.reason, condition.message].filter(Boolean).join(': ');
  return `${condition.type} ${condition.status}${detail ? ` (${detail})` : ''}`;
}
