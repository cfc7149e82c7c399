import { describe, expect, it } from 'vitest';
import { reviewAccess } from './access-review.ts';
import { createAuthorizer, defaultTokenGrants } from './auth.ts';
import { evaluateJsonPath } from './json-path.ts';
import { ObjectStore } from './object-store.ts';

const review = (user: string, attributes: Record<string, string>, groups: string[] = []) => ({
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SubjectAccessReview',
  spec: { user, groups, resourceAttributes: attributes },
});
const sa = (name: string) => `system:serviceaccount:heapdump:${name}`;

describe('SubjectAccessReview in the emulator', () => {
  it('answers from the token grants: a function may make exactly the calls of its meta.ts', () => {
    const authorizer = createAuthorizer(Object.values(defaultTokenGrants()));
    const store = new ObjectStore();
    const ask = (user: string, verb: string, resource: string, subresource = '') =>
      reviewAccess(review(user, { namespace: 'shop', verb, resource, subresource }), authorizer, store).status
        .allowed;
    expect(ask(sa('exec-dump'), 'create', 'pods', 'exec')).toBe(true);
    expect(ask(sa('exec-dump'), 'delete', 'pods')).toBe(false);
    expect(ask(sa('decide-dump'), 'create', 'pods', 'exec')).toBe(false);
    expect(ask(sa('heapdump-pod-watcher'), 'watch', 'pods')).toBe(false);
    authorizer.grant(sa('heapdump-pod-watcher'), [
      { verbs: ['get', 'list', 'watch'], resources: ['pods'], namespaces: ['shop'] },
    ]);
    expect(ask(sa('heapdump-pod-watcher'), 'watch', 'pods')).toBe(true);
    expect(
      reviewAccess(
        review(sa('heapdump-pod-watcher'), { namespace: 'other', verb: 'watch', resource: 'pods' }),
        authorizer,
        store,
      ).status.allowed,
    ).toBe(false);
  });

  it('answers from RBAC objects: RoleBindings to ClusterRoles, group subjects, resource names', () => {
    const store = new ObjectStore();
    store.load(`
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: exec }
rules: [{ apiGroups: [""], resources: [pods/exec], verbs: [create] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: exec, namespace: shop }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: exec }
subjects: [{ kind: ServiceAccount, name: exec-dump, namespace: heapdump }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: one-secret, namespace: heapdump }
rules: [{ apiGroups: [""], resources: [secrets], resourceNames: [heapdump-redis], verbs: [get] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: one-secret, namespace: heapdump }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: one-secret }
subjects: [{ kind: Group, name: "system:serviceaccounts:heapdump" }]
`);
    const authorizer = createAuthorizer([]);
    const ask = (attributes: Record<string, string>, groups: string[] = []) =>
      reviewAccess(review(sa('exec-dump'), attributes, groups), authorizer, store).status;
    expect(ask({ namespace: 'shop', verb: 'create', resource: 'pods', subresource: 'exec' })).toEqual({
      allowed: true,
      reason:
        'RBAC: allowed by RoleBinding "exec/shop" of ClusterRole "exec" to ServiceAccount "exec-dump/heapdump"',
    });
    expect(ask({ namespace: 'other', verb: 'create', resource: 'pods', subresource: 'exec' }).allowed).toBe(
      false,
    );
    const secret = { namespace: 'heapdump', verb: 'get', resource: 'secrets', name: 'heapdump-redis' };
    expect(ask(secret).allowed).toBe(false);
    expect(ask(secret, ['system:serviceaccounts:heapdump']).allowed).toBe(true);
    expect(
      ask({ ...secret, name: 'heapdump-sftp-client' }, ['system:serviceaccounts:heapdump']).allowed,
    ).toBe(false);
  });
});

describe('printer columns', () => {
  it('JSONPath: fields, escaped dots, equality filters', () => {
    const broker = {
      metadata: { annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' } },
      status: {
        conditions: [
          { type: 'Addressable', status: 'True' },
          { type: 'Ready', status: 'False', reason: 'X' },
        ],
      },
    };
    expect(evaluateJsonPath('.metadata.annotations.eventing\\.knative\\.dev/broker\\.class', broker)).toEqual(
      ['MTChannelBasedBroker'],
    );
    expect(evaluateJsonPath('.status.conditions[?(@.type=="Ready")].reason', broker)).toEqual(['X']);
    expect(evaluateJsonPath(".status.conditions[?(@.type == 'Addressable')].status", broker)).toEqual([
      'True',
    ]);
    expect(evaluateJsonPath('.status.address.url', broker)).toEqual([]);
  });
});
