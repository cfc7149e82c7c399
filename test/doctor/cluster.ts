import { renderedDeployment } from '../../dev/kube-emulator/cluster/heapdump-cluster.ts';
import { defaultTokenGrants, type KubeObject } from '../../dev/kube-emulator/index.ts';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';
import { repoRoot } from '../manifests/manifests.ts';

export interface DoctorCluster {
  emulator: TestKubeEmulator;
  /** Replaces a stored object with a changed copy until restore(). */
  edit(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    change: (object: KubeObject) => void,
  ): void;
  /** Removes a stored object until restore(). */
  drop(apiVersion: string, kind: string, namespace: string | undefined, name: string): void;
  /** Adds an object until restore(). */
  add(object: KubeObject): void;
  /** Back to the deployed state. */
  restore(): void;
  stop(): Promise<void>;
}

const optedInPod = `
metadata: { name: java-leak-0, namespace: heapdump-example, labels: { heapdump.dev/enabled: "true" } }
spec: { containers: [{ name: app, command: [sleep, infinity] }] }
`;

/**
 * The emulator holding a cluster where knative-heapdump is deployed and ready: our manifests as
 * `kubectl kustomize` renders them, the Secrets created, Knative and the Prometheus Operator stubbed
 * (dev/kube-emulator/cluster/), one opted-in pod. Only the admin token: the functions' own tokens would
 * allow their calls everywhere, so SubjectAccessReviews are answered by infra/'s RBAC alone, as in a cluster.
 */
export async function startDoctorCluster(): Promise<DoctorCluster> {
  const objects = await renderedDeployment(repoRoot);
  const emulator = await startTestKubeEmulator({ objects, tokens: { admin: defaultTokenGrants().admin! } });
  await emulator.addPods(optedInPod);
  const undo: (() => void)[] = [];
  const typeOf = (apiVersion: string, kind: string) => {
    const type = emulator.objects.typeOf(apiVersion, kind);
    if (!type) throw new Error(`no type ${apiVersion} ${kind}`);
    return type;
  };
  const original = (apiVersion: string, kind: string, namespace: string | undefined, name: string) => {
    const object = emulator.objects.get(typeOf(apiVersion, kind), namespace, name);
    if (!object) throw new Error(`no ${kind} ${namespace}/${name} to change`);
    return object;
  };
  return {
    emulator,
    edit(apiVersion, kind, namespace, name, change) {
      const before = original(apiVersion, kind, namespace, name);
      const after = structuredClone(before);
      change(after);
      emulator.objects.put(after);
      undo.push(() => emulator.objects.put(before));
    },
    drop(apiVersion, kind, namespace, name) {
      const before = original(apiVersion, kind, namespace, name);
      emulator.objects.remove(apiVersion, kind, namespace, name);
      undo.push(() => emulator.objects.put(before));
    },
    add(object) {
      emulator.objects.put(object);
      undo.push(() =>
        emulator.objects.remove(
          object.apiVersion,
          object.kind,
          object.metadata.namespace,
          object.metadata.name,
        ),
      );
    },
    restore() {
      for (const step of undo.splice(0).reverse()) step();
    },
    stop: () => emulator.stop(),
  };
}
