import { reviewAccess } from './access-review.ts';
import type { Authorizer, TokenGrant } from './auth.ts';
import type { ObjectStore } from './object-store.ts';
import { objectTable } from './object-table.ts';
import type { PodObject } from './pod-runtime.ts';
import type { KubeObject, ResourceType } from './resource-types.ts';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.ts';
import { badRequest, methodNotAllowed, notFound } from './status.ts';
import { type IncludeObject, wantsTable } from './table.ts';

export interface ObjectRequest {
  method: string;
  url: URL;
  grant: TokenGrant;
  accept: string | undefined;
  readJson(): Promise<unknown>;
}

export interface ObjectResponse {
  code: number;
  body: unknown;
}

const corePath = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?$/;
const groupPath = /^\/apis\/([^/]+)\/([^/]+)\/(?:namespaces\/([^/]+)\/)?([^/]+)(?:\/([^/]+))?$/;

interface Route {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
}

function routeOf(path: string): Route | undefined {
  const core = corePath.exec(path);
  if (core) return { group: '', version: 'v1', namespace: core[1], plural: core[2]!, name: core[3] };
  const grouped = groupPath.exec(path);
  if (grouped)
    return {
      group: grouped[1]!,
      version: grouped[2]!,
      namespace: grouped[3],
      plural: grouped[4]!,
      name: grouped[5],
    };
  return undefined;
}

/**
 * GET and LIST (label and name selectors, server-side tables) of the store's objects at their REST
 * paths, and SubjectAccessReview. Undefined for a path that names no type here (the caller answers 404).
 */
export function createObjectRoutes(store: ObjectStore, authorizer: Authorizer) {
  return async (request: ObjectRequest): Promise<ObjectResponse | undefined> => {
    const route = routeOf(request.url.pathname);
    const type = route && store.typeByPlural(route.group, route.version, route.plural);
    if (!route || !type) return undefined;
    const { namespace, name } = route;
    // A cluster-scoped type under a namespace, or one namespaced object without its namespace: no such path.
    if ((!type.namespaced && namespace) || (type.namespaced && name && !namespace)) return undefined;
    if (type.kind === 'SubjectAccessReview') {
      if (request.method !== 'POST' || name) throw methodNotAllowed(request.method);
      authorizer.authorize(request.grant, 'create', type.plural, undefined, undefined, type.group);
      return { code: 201, body: reviewAccess(await request.readJson(), authorizer, store) };
    }
    if (request.method !== 'GET') throw methodNotAllowed(request.method);
    if (['true', '1'].includes(request.url.searchParams.get('watch') ?? ''))
      throw badRequest(`the emulator watches pods only, not ${type.plural}`);
    authorizer.authorize(request.grant, name ? 'get' : 'list', type.plural, namespace, name, type.group);
    const include = includeObjectOf(request.url);
    if (name) {
      const object = store.get(type, namespace, name);
      if (!object) throw notFound(type.group ? `${type.plural}.${type.group}` : type.plural, name);
      return respond(request, type, [object], object, include, store.resourceVersion);
    }
    const labels = selector(() => parseLabelSelector(request.url.searchParams.get('labelSelector')));
    const fields = selector(() => parseFieldSelector(request.url.searchParams.get('fieldSelector')));
    // The selectors read metadata only (labels, name, namespace), which every object has like a pod.
    const items = store
      .list(type, namespace)
      .filter((object) => labels(object as unknown as PodObject) && fields(object as unknown as PodObject));
    const list = {
      kind: `${type.kind}List`,
      apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
      metadata: { resourceVersion: store.resourceVersion },
      items,
    };
    return respond(request, type, items, list, include, store.resourceVersion);
  };
}

function respond(
  request: ObjectRequest,
  type: ResourceType,
  objects: KubeObject[],
  body: unknown,
  include: IncludeObject,
  resourceVersion: string,
): ObjectResponse {
  if (!wantsTable(request.accept)) return { code: 200, body };
  return { code: 200, body: objectTable(type, objects, resourceVersion, include) };
}

function includeObjectOf(url: URL): IncludeObject {
  const value = url.searchParams.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

function selector<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
}
