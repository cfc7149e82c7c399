import { type Check, type CheckResult, type DoctorContext, fail, pass } from '../check.ts';
import type { CrdInfo, ResourceRef } from '../cluster.ts';
import { crdName, resources } from '../resources.ts';

const products: { name: string; check: string; install: string; needs: ResourceRef[] }[] = [
  {
    name: 'Knative Serving',
    check: 'knative-serving',
    install: 'https://knative.dev/docs/install/yaml-install/serving/install-serving-with-yaml/',
    needs: [resources.KnativeService],
  },
  {
    name: 'Knative Eventing',
    check: 'knative-eventing',
    install: 'https://knative.dev/docs/install/yaml-install/eventing/install-eventing-with-yaml/',
    needs: [
      resources.Broker,
      resources.Trigger,
      resources.ApiServerSource,
      resources.PingSource,
      resources.SinkBinding,
    ],
  },
];

/** Knative Serving and Eventing: the CRDs our manifests use, serving the API versions they are written in. */
export const knative: Check = {
  name: 'knative',
  needsCluster: true,
  async run(context) {
    const crds = await context.cluster.crds();
    return products.map((product) => productResult(product, crds));
  },
};

function productResult(product: (typeof products)[number], crds: CrdInfo[]): CheckResult {
  const problems = product.needs.flatMap((resource) => {
    const crd = crds.find((candidate) => candidate.name === crdName(resource));
    if (!crd) return [`${crdName(resource)} missing`];
    if (!crd.servedVersions.includes(resource.version))
      return [`${crd.name} serves ${crd.servedVersions.join(', ') || 'no version'}, not ${resource.version}`];
    return [];
  });
  if (problems.length)
    return fail(
      product.check,
      `${product.name} is not installed as needed: ${problems.join('; ')}`,
      `install ${product.name} (v1 APIs, Knative 1.x): ${product.install}`,
    );
  const found = product.needs.map((resource) => crds.find((crd) => crd.name === crdName(resource))!);
  const releases = [...new Set(found.map((crd) => crd.labels['app.kubernetes.io/version']).filter(Boolean))];
  const release = releases.length
    ? `release ${releases.join(', ')}`
    : 'release unknown (no app.kubernetes.io/version label)';
  const names = found.map((crd) => `${crd.name} ${crd.servedVersions.join('/')}`).join(', ');
  return pass(product.check, `${product.name} installed (${release}): ${names}`);
}

/** The CRDs among `needs` that the cluster lacks: a check of their objects is skipped then. */
export async function missingCrds(context: DoctorContext, needs: ResourceRef[]): Promise<string[]> {
  const crds = new Set((await context.cluster.crds()).map((crd) => crd.name));
  return needs.map(crdName).filter((name) => !crds.has(name));
}
