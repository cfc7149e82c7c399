import type { PodObject } from './pod-runtime.ts';

export type Selector = (pod: PodObject) => boolean;

export class SelectorError extends Error {}

const matchAll: Selector = () => true;

/**
 * Kubernetes label selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`,
 * requirements separated by commas (commas inside parentheses belong to the set).
 */
export function parseLabelSelector(text: string | null | undefined): Selector {
  if (!text?.trim()) return matchAll;
  const tests = splitRequirements(text).map(parseRequirement);
  return (pod) => tests.every((test) => test(pod.metadata.labels ?? {}));
}

function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((part) => part.trim());
}

const key = '([A-Za-z0-9][-A-Za-z0-9_./]*)';
const value = '([-A-Za-z0-9_.]*)';

function parseRequirement(requirement: string): (labels: Record<string, string>) => boolean {
  let match = new RegExp(`^${key}\\s*(==|=|!=)\\s*${value}$`).exec(requirement);
  if (match) {
    const [, name, operator, expected] = match as unknown as [string, string, string, string];
    return operator === '!=' ? (labels) => labels[name] !== expected : (labels) => labels[name] === expected;
  }
  match = new RegExp(`^${key}\\s+(in|notin)\\s+\\(([^)]*)\\)$`).exec(requirement);
  if (match) {
    const [, name, operator, list] = match as unknown as [string, string, string, string];
    const values = new Set(list.split(',').map((item) => item.trim()));
    return operator === 'in'
      ? (labels) => labels[name] !== undefined && values.has(labels[name])
      : (labels) => labels[name] === undefined || !values.has(labels[name]);
  }
  match = new RegExp(`^(!?)${key}$`).exec(requirement);
  if (match) {
    const [, not, name] = match as unknown as [string, string, string];
    return not ? (labels) => !(name in labels) : (labels) => name in labels;
  }
  throw new SelectorError(`unable to parse requirement: ${JSON.stringify(requirement)}`);
}

const podFields: Record<string, (pod: PodObject) => string | undefined> = {
  'metadata.name': (pod) => pod.metadata.name,
  'metadata.namespace': (pod) => pod.metadata.namespace,
  'spec.nodeName': (pod) => (pod.spec as { nodeName?: string }).nodeName,
  'status.phase': (pod) => (pod.status as { phase?: string }).phase,
};

/** The pod field selectors the API server supports that a client here may use: `metadata.name=x`, `!=`. */
export function parseFieldSelector(text: string | null | undefined): Selector {
  if (!text?.trim()) return matchAll;
  const tests = text.split(',').map((requirement): Selector => {
    const match = /^\s*([a-zA-Z.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(requirement);
    if (!match) throw new SelectorError(`invalid field selector: ${JSON.stringify(requirement)}`);
    const [, field, operator, expected] = match as unknown as [string, string, string, string];
    const read = podFields[field];
    if (!read) throw new SelectorError(`field label not supported: ${field}`);
    return operator === '!=' ? (pod) => read(pod) !== expected : (pod) => read(pod) === expected;
  });
  return (pod) => tests.every((test) => test(pod));
}
