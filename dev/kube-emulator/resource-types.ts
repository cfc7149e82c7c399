/** An object of any kind, read loosely: the emulator stores and serves it, the reader narrows. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** One resource of one group version, as discovery lists it and the routes serve it. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** A CRD's additionalPrinterColumns (the server-side table kubectl prints). */
  printerColumns?: PrinterColumn[];
}

const readVerbs = ['get', 'list'];

const builtin = (
  group: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType => ({
  group,
  version: 'v1',
  kind,
  plural,
  singular: kind.toLowerCase(),
  namespaced,
  verbs: readVerbs,
  ...extra,
});

/**
 * The built-in kinds the emulator stores besides pods: what a cluster with our manifests applied holds
 * (namespaces, service accounts, secrets, RBAC, CRDs), and SubjectAccessReview, which it answers.
 */
export const builtinTypes: ResourceType[] = [
  builtin('', 'Namespace', 'namespaces', false, { shortNames: ['ns'] }),
  builtin('', 'Secret', 'secrets', true),
  builtin('', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'] }),
  builtin('apiextensions.k8s.io', 'CustomResourceDefinition', 'customresourcedefinitions', false, {
    shortNames: ['crd', 'crds'],
  }),
  builtin('rbac.authorization.k8s.io', 'ClusterRole', 'clusterroles', false),
  builtin('rbac.authorization.k8s.io', 'ClusterRoleBinding', 'clusterrolebindings', false),
  builtin('rbac.authorization.k8s.io', 'Role', 'roles', true),
  builtin('rbac.authorization.k8s.io', 'RoleBinding', 'rolebindings', true),
  builtin('authorization.k8s.io', 'SubjectAccessReview', 'subjectaccessreviews', false, {
    verbs: ['create'],
  }),
];

interface CrdVersion {
  name: string;
  served?: boolean;
  additionalPrinterColumns?: PrinterColumn[];
}

interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: { kind: string; plural: string; singular?: string; shortNames?: string[]; categories?: string[] };
  versions: CrdVersion[];
}

/** The resources a CustomResourceDefinition adds: one per served version. */
export function typesOfCrd(crd: KubeObject): ResourceType[] {
  const spec = crd.spec as CrdSpec;
  return spec.versions
    .filter((version) => version.served !== false)
    .map((version) => ({
      group: spec.group,
      version: version.name,
      kind: spec.names.kind,
      plural: spec.names.plural,
      singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      namespaced: spec.scope === 'Namespaced',
      verbs: readVerbs,
      shortNames: spec.names.shortNames,
      categories: spec.names.categories,
      printerColumns: version.additionalPrinterColumns,
    }));
}

export function groupVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}
