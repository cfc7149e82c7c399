import {
  ApiException,
  ApiextensionsV1Api,
  AuthorizationV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  Observable,
  type ObservableMiddleware,
  VersionApi,
} from '@kubernetes/client-node';

/** An object as the API server returns it, read loosely: each check narrows what it looks at. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
}

export interface CrdInfo {
  name: string;
  group: string;
  kind: string;
  servedVersions: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** What a SubjectAccessReview asks: may `user` (with `groups`) do `verb` on `resource` in `namespace`? */
export interface AccessQuestion {
  user: string;
  groups: string[];
  namespace: string;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
}

/** The doctor's only door to the cluster: reads and SubjectAccessReviews, nothing that changes state. */
export interface ClusterReader {
  server: string;
  version(): Promise<string>;
  crds(): Promise<CrdInfo[]>;
  list(
    resource: ResourceRef,
    options?: { namespace?: string; labelSelector?: string },
  ): Promise<KubeObject[]>;
  /** Undefined when the object does not exist. */
  get(resource: ResourceRef, namespace: string, name: string): Promise<KubeObject | undefined>;
  namespaces(labelSelector?: string): Promise<KubeObject[]>;
  pods(namespace: string, labelSelector?: string): Promise<KubeObject[]>;
  secret(namespace: string, name: string): Promise<KubeObject | undefined>;
  serviceAccount(namespace: string, name: string): Promise<KubeObject | undefined>;
  canI(question: AccessQuestion): Promise<{ allowed: boolean; reason?: string }>;
}

/** The reader over @kubernetes/client-node with the user's kubeconfig; every request ends within `timeoutMs`. */
export function createClusterReader(kubeConfig: KubeConfig, timeoutMs: number): ClusterReader {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  const versions = kubeConfig.makeApiClient(VersionApi);
  // client-node has no request timeout of its own: a middleware gives each request an abort signal.
  const withTimeout: ObservableMiddleware = {
    pre(context) {
      context.setSignal(AbortSignal.timeout(timeoutMs));
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  const options: ConfigurationOptions<ObservableMiddleware> = {
    middleware: [withTimeout],
    middlewareMergeStrategy: 'append',
  };

  return {
    server: kubeConfig.getCurrentCluster()?.server ?? '(no current cluster in the kubeconfig)',
    version: async () => (await versions.getCode(options)).gitVersion,
    async crds() {
      const list = await extensions.listCustomResourceDefinition({}, options);
      return list.items.map((crd) => ({
        name: crd.metadata?.name ?? '',
        group: crd.spec.group,
        kind: crd.spec.names.kind,
        servedVersions: crd.spec.versions.filter((version) => version.served).map((version) => version.name),
        labels: crd.metadata?.labels ?? {},
        annotations: crd.metadata?.annotations ?? {},
      }));
    },
    async list(resource, { namespace, labelSelector } = {}) {
      const list = namespace
        ? await custom.listNamespacedCustomObject({ ...resource, namespace, labelSelector }, options)
        : await custom.listClusterCustomObject({ ...resource, labelSelector }, options);
      return (list as { items: KubeObject[] }).items;
    },
    get: (resource, namespace, name) =>
      orUndefined(async () =>
        plain(await custom.getNamespacedCustomObject({ ...resource, namespace, name }, options)),
      ),
    namespaces: async (labelSelector) => plain((await core.listNamespace({ labelSelector }, options)).items),
    pods: async (namespace, labelSelector) =>
      plain((await core.listNamespacedPod({ namespace, labelSelector }, options)).items),
    secret: (namespace, name) =>
      orUndefined(async () => plain(await core.readNamespacedSecret({ namespace, name }, options))),
    serviceAccount: (namespace, name) =>
      orUndefined(async () => plain(await core.readNamespacedServiceAccount({ namespace, name }, options))),
    async canI({ user, groups, ...resourceAttributes }) {
      const review = await authorization.createSubjectAccessReview(
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: { user, groups, resourceAttributes },
          },
        },
        options,
      );
      return { allowed: Boolean(review.status?.allowed), reason: review.status?.reason };
    },
  };
}

/** client-node hands out model objects (Dates for timestamps); the checks read plain API JSON. */
function plain<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

async function orUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

/** A failed call in one line: the API server's Status message, or the transport error. */
export function describeClusterError(error: unknown): string {
  if (!(error instanceof ApiException)) return (error as Error).message ?? String(error);
  let body = error.body as unknown;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {}
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return `HTTP ${error.code}${typeof message === 'string' ? `: ${message}` : ''}`;
}
