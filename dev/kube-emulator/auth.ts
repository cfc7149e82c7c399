import { randomBytes, timingSafeEqual } from 'node:crypto';
import { allFunctions } from '../../functions/lib/functions.ts';
import { forbidden, unauthorized } from './status.ts';

export interface AccessRule {
  /** `get`, `list`, `watch`, `create`, `delete` or `*`. */
  verbs: string[];
  /** `pods`, `pods/exec` or `*`. */
  resources: string[];
  /** API groups; default the core group (`''`), or any group when `resources` is `*`. */
  apiGroups?: string[];
  /** Where the rule applies (as a RoleBinding would bind it); default: every namespace. */
  namespaces?: string[];
}

export interface TokenGrant {
  /** Also the user named in 403 messages. */
  user: string;
  token: string;
  rules: AccessRule[];
}

/**
 * An admin token (what `kubectl` gets) and one least-privilege token per function, with exactly the
 * `verb resource` pairs its meta.ts declares, so the RBAC the manifests grant is what tests exercise.
 */
export function defaultTokenGrants(): Record<string, TokenGrant> {
  const grants: Record<string, TokenGrant> = {
    admin: { user: 'kubernetes-admin', token: randomToken(), rules: [{ verbs: ['*'], resources: ['*'] }] },
  };
  for (const fn of allFunctions) {
    if (!fn.kubernetes.length) continue;
    grants[fn.name] = {
      user: `system:serviceaccount:heapdump:${fn.name}`,
      token: randomToken(),
      rules: fn.kubernetes.map((pair) => {
        const [verb, resource] = pair.split(' ') as [string, string];
        return { verbs: [verb], resources: [resource] };
      }),
    };
  }
  return grants;
}

function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

export interface Authorizer {
  /** The grant of the request's bearer token; throws a 401 Status without a valid one. */
  authenticate(authorization: string | undefined): TokenGrant;
  /** Throws a 403 Status unless the grant allows `verb` on `resource` (of API `group`, default core). */
  authorize(
    grant: TokenGrant,
    verb: string,
    resource: string,
    namespace?: string,
    name?: string,
    group?: string,
  ): void;
  /** Whether the rules of `user` (its tokens' and those added by grant()) allow `verb` on `resource`. */
  allows(user: string, verb: string, resource: string, namespace?: string, group?: string): boolean;
  /** Adds rules for a user, e.g. a service account that has no token here (SubjectAccessReviews ask about it). */
  grant(user: string, rules: AccessRule[]): void;
}

export function createAuthorizer(grants: Iterable<TokenGrant>): Authorizer {
  const all = [...grants];
  const added = new Map<string, AccessRule[]>();
  const rulesOf = (user: string) => [
    ...all.filter((candidate) => candidate.user === user).flatMap((candidate) => candidate.rules),
    ...(added.get(user) ?? []),
  ];
  const allows = (user: string, verb: string, resource: string, namespace?: string, group = '') =>
    rulesOf(user).some(
      (rule) =>
        (rule.verbs.includes('*') || rule.verbs.includes(verb)) &&
        (rule.resources.includes('*') || rule.resources.includes(resource)) &&
        (rule.apiGroups ?? (rule.resources.includes('*') ? ['*'] : [''])).some(
          (g) => g === '*' || g === group,
        ) &&
        (!rule.namespaces || (namespace !== undefined && rule.namespaces.includes(namespace))),
    );
  return {
    authenticate(authorization) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      const presented = Buffer.from(match?.[1] ?? '');
      const grant = all.find((candidate) => {
        const expected = Buffer.from(candidate.token);
        return expected.length === presented.length && timingSafeEqual(expected, presented);
      });
      if (!grant) throw unauthorized();
      return grant;
    },
    authorize(grant, verb, resource, namespace, name, group) {
      if (!allows(grant.user, verb, resource, namespace, group))
        throw forbidden(grant.user, verb, resource, namespace, name);
    },
    allows,
    grant(user, rules) {
      added.set(user, [...(added.get(user) ?? []), ...rules]);
    },
  };
}
