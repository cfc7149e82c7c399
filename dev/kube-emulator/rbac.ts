import type { ObjectStore } from './object-store.ts';
import { builtinTypes, type KubeObject, type ResourceType } from './resource-types.ts';

/** A SubjectAccessReview's question: may this user (with these groups) do this? */
export interface AccessQuestion {
  user: string;
  groups: string[];
  verb: string;
  /** API group, `''` for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Subject {
  kind: 'ServiceAccount' | 'User' | 'Group';
  name: string;
  namespace?: string;
}

interface Binding extends KubeObject {
  roleRef: { kind: 'ClusterRole' | 'Role'; name: string };
  subjects?: Subject[];
}

const rbacType = (kind: string) => builtinTypes.find((type) => type.kind === kind) as ResourceType;

/**
 * Kubernetes RBAC over the Roles, ClusterRoles and their bindings in the store: the reason the request
 * is allowed (worded as the API server's RBAC authorizer words it), or undefined when no rule allows it.
 */
export function rbacDecision(store: ObjectStore, question: AccessQuestion): string | undefined {
  const bindings = [
    ...(store.list(rbacType('ClusterRoleBinding')) as Binding[]),
    ...(question.namespace ? (store.list(rbacType('RoleBinding'), question.namespace) as Binding[]) : []),
  ];
  for (const binding of bindings) {
    const subject = binding.subjects?.find((candidate) => subjectMatches(candidate, binding, question));
    if (!subject) continue;
    const role = roleOf(store, binding);
    if (!(role?.rules as PolicyRule[] | undefined)?.some((rule) => ruleAllows(rule, question))) continue;
    const where = binding.metadata.namespace
      ? `${binding.metadata.name}/${binding.metadata.namespace}`
      : binding.metadata.name;
    return `RBAC: allowed by ${binding.kind} "${where}" of ${binding.roleRef.kind} "${binding.roleRef.name}" to ${describe(subject, binding)}`;
  }
  return undefined;
}

function roleOf(store: ObjectStore, binding: Binding): KubeObject | undefined {
  if (binding.roleRef.kind === 'ClusterRole')
    return store.get(rbacType('ClusterRole'), undefined, binding.roleRef.name);
  // A RoleBinding names a Role of its own namespace; a ClusterRoleBinding cannot name a Role.
  if (!binding.metadata.namespace) return undefined;
  return store.get(rbacType('Role'), binding.metadata.namespace, binding.roleRef.name);
}

function subjectMatches(subject: Subject, binding: Binding, question: AccessQuestion): boolean {
  switch (subject.kind) {
    case 'ServiceAccount':
      return (
        question.user ===
        `system:serviceaccount:${subject.namespace ?? binding.metadata.namespace}:${subject.name}`
      );
    case 'User':
      return question.user === subject.name;
    case 'Group':
      return question.groups.includes(subject.name);
    default:
      return false;
  }
}

function ruleAllows(rule: PolicyRule, question: AccessQuestion): boolean {
  const resource = question.subresource ? `${question.resource}/${question.subresource}` : question.resource;
  const anyOf = (list: string[] | undefined, value: string) =>
    Boolean(list?.includes('*') || list?.includes(value));
  return (
    anyOf(rule.verbs, question.verb) &&
    anyOf(rule.apiGroups, question.group) &&
    anyOf(rule.resources, resource) &&
    (!rule.resourceNames?.length ||
      (question.name !== undefined && rule.resourceNames.includes(question.name)))
  );
}

function describe(subject: Subject, binding: Binding): string {
  if (subject.kind !== 'ServiceAccount') return `${subject.kind} "${subject.name}"`;
  return `ServiceAccount "${subject.name}/${subject.namespace ?? binding.metadata.namespace}"`;
}
