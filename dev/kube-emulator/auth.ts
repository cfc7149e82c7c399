import { randomBytes, timingSafeEqual } from 'node:crypto';
import { allFunctions } from '../../functions/lib/functions.ts';
import { forbidden, unauthorized } from './status.ts';

export interface AccessRule {
  /** `get`, `list`, `watch`, `create`, `delete` or `*`. */
  verbs: string[];
  /** `pods`, `pods/exec` or `*`. */
  resources: string[];
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
  /** Throws a 403 Status unless the grant allows `verb` on `resource`. */
  authorize(grant: TokenGrant, verb: string, resource: string, namespace?: string, name?: string): void;
}

export function createAuthorizer(grants: Iterable<TokenGrant>): Authorizer {
  const all = [...grants];
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
    authorize(grant, verb, resource, namespace, name) {
      const allowed = grant.rules.some(
        (rule) =>
          (rule.verbs.includes('*') || rule.verbs.includes(verb)) &&
          (rule.resources.includes('*') || rule.resources.includes(resource)),
      );
      if (!allowed) throw forbidden(grant.user, verb, resource, namespace, name);
    },
  };
}
