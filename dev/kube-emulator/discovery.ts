import { groupVersionOf, type ResourceType } from './resource-types.ts';

/**
 * Legacy discovery documents (what kubectl falls back to when the server does not offer aggregated discovery):
 * enough for `kubectl get pods`, `kubectl get pods -w` and `kubectl exec` to find the pods resource, and for
 * clients to find the stored `types` (built-in kinds and those of the stored CRDs) by group and version.
 */
export function discoveryDocument(path: string, serverAddress: string, types: ResourceType[] = []): unknown {
  switch (path) {
    case '/version':
      return {
        major: '1',
        minor: '32',
        gitVersion: 'v1.32.0-heapdump-emulator',
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2025-01-01T00:00:00Z',
        goVersion: 'go1.23',
        compiler: 'gc',
        platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
      };
    case '/api':
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
      };
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: apiGroups(types) };
    case '/api/v1':
      return {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          ...types.filter((type) => type.group === '' && type.plural !== 'namespaces').map(apiResource),
          {
            name: 'namespaces',
            singularName: 'namespace',
            namespaced: false,
            kind: 'Namespace',
            verbs: ['get', 'list'],
            shortNames: ['ns'],
          },
          {
            name: 'pods',
            singularName: 'pod',
            namespaced: true,
            kind: 'Pod',
            verbs: ['create', 'delete', 'get', 'list', 'watch'],
            shortNames: ['po'],
            categories: ['all'],
          },
          {
            name: 'pods/exec',
            singularName: '',
            namespaced: true,
            kind: 'PodExecOptions',
            verbs: ['create', 'get'],
          },
        ],
      };
    case '/openapi/v2':
      // No schemas: kubectl's client-side validation then has nothing to hold a manifest against.
      return {
        swagger: '2.0',
        info: { title: 'Kubernetes', version: 'v1.32.0' },
        paths: {},
        definitions: {},
      };
    default: {
      const groupVersion = /^\/apis\/([^/]+\/[^/]+)$/.exec(path)?.[1];
      const resources = types.filter((type) => type.group && groupVersionOf(type) === groupVersion);
      if (!resources.length) return undefined;
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion,
        resources: resources.map(apiResource),
      };
    }
  }
}

function apiGroups(types: ResourceType[]) {
  const versions = new Map<string, string[]>();
  for (const type of types) {
    if (!type.group) continue;
    const known = versions.get(type.group) ?? [];
    if (!known.includes(type.version)) known.push(type.version);
    versions.set(type.group, known);
  }
  return [...versions].map(([name, names]) => {
    const list = names.map((version) => ({ groupVersion: `${name}/${version}`, version }));
    return { name, versions: list, preferredVersion: list[0] };
  });
}

function apiResource(type: ResourceType) {
  return {
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: type.verbs,
    ...(type.shortNames ? { shortNames: type.shortNames } : {}),
    ...(type.categories ? { categories: type.categories } : {}),
  };
}
