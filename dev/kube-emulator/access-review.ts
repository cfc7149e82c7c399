import { z } from 'zod';
import { describeZodError } from '../../functions/lib/errors.ts';
import type { Authorizer } from './auth.ts';
import type { ObjectStore } from './object-store.ts';
import { rbacDecision } from './rbac.ts';
import { badRequest } from './status.ts';

const SubjectAccessReview = z.object({
  apiVersion: z.literal('authorization.k8s.io/v1').default('authorization.k8s.io/v1'),
  kind: z.literal('SubjectAccessReview').default('SubjectAccessReview'),
  metadata: z.record(z.string(), z.unknown()).default({}),
  spec: z
    .object({
      user: z.string().default(''),
      groups: z.array(z.string()).default([]),
      resourceAttributes: z
        .object({
          namespace: z.string().default(''),
          verb: z.string().default(''),
          group: z.string().default(''),
          resource: z.string().default(''),
          subresource: z.string().default(''),
          name: z.string().default(''),
        })
        .loose()
        .optional(),
      nonResourceAttributes: z.object({}).loose().optional(),
    })
    .loose(),
});

/**
 * Answers a SubjectAccessReview (POST /apis/authorization.k8s.io/v1/subjectaccessreviews) as the API
 * server does, from the emulator's token grants and from the RBAC objects in the store.
 */
export function reviewAccess(body: unknown, authorizer: Authorizer, store: ObjectStore) {
  const parsed = SubjectAccessReview.safeParse(body);
  if (!parsed.success) throw badRequest(`SubjectAccessReview is invalid: ${describeZodError(parsed.error)}`);
  const review = parsed.data;
  const { user, groups, resourceAttributes: attributes } = review.spec;
  if (!user && !groups.length) throw badRequest('spec.user or spec.groups: at least one is required');
  if (!attributes) {
    if (!review.spec.nonResourceAttributes)
      throw badRequest('exactly one of nonResourceAttributes or resourceAttributes must be specified');
    return { ...review, status: { allowed: false, reason: 'the emulator reviews resource requests only' } };
  }
  const namespace = attributes.namespace || undefined;
  const resource = attributes.subresource
    ? `${attributes.resource}/${attributes.subresource}`
    : attributes.resource;
  if (authorizer.allows(user, attributes.verb, resource, namespace, attributes.group))
    return { ...review, status: { allowed: true, reason: 'allowed by the emulator token grant' } };
  const reason = rbacDecision(store, {
    user,
    groups,
    verb: attributes.verb,
    group: attributes.group,
    resource: attributes.resource,
    subresource: attributes.subresource || undefined,
    namespace,
    name: attributes.name || undefined,
  });
  return { ...review, status: reason ? { allowed: true, reason } : { allowed: false } };
}
