/**
 * The workloads infra/ runs: every third-party image is pinned to an exact version (or, where the
 * project publishes none, to the one tag it has, named here with the reason), and the StatefulSet's
 * serviceName names a headless Service, as StatefulSets require.
 */
import { describe, expect, it } from 'vitest';
import { type KubeObject, objectName, ofKind, renderKustomization } from './manifests.ts';

const infra = renderKustomization('infra');
const workloads = [...ofKind(infra, 'Deployment'), ...ofKind(infra, 'StatefulSet')];

/** Images whose project publishes no version tags: only these may stay on a moving tag. */
const unversionedUpstream: Record<string, string> = {
  // README "Supported tags": `debian` (= latest) and `alpine`, rebuilt in place (atmoz/sftp build.yml).
  'atmoz/sftp': 'debian',
};

const images = workloads.flatMap((workload) => {
  const spec = workload.spec.template.spec;
  return [...(spec.initContainers ?? []), ...spec.containers].map(
    (c: KubeObject) => [`${objectName(workload)} ${c.name}`, String(c.image)] as const,
  );
});

/** `name[:tag][@digest]`, with a registry port kept in the name. */
function parseImage(image: string): { name: string; tag?: string; digest?: string } {
  const [reference, digest] = image.split('@');
  const slash = (reference ?? '').lastIndexOf('/');
  const colon = (reference ?? '').lastIndexOf(':');
  if (colon > slash)
    return { name: reference?.slice(0, colon) ?? '', tag: reference?.slice(colon + 1), digest };
  return { name: reference ?? '', digest };
}

describe('images', () => {
  it.each(images)('%s: %s is pinned to an exact version', (_where, image) => {
    const { name, tag, digest } = parseImage(image);
    if (digest) expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(tag, 'a tag names the version a digest stands for').toBeDefined();
    expect(tag).not.toBe('latest');
    if (name in unversionedUpstream) expect(tag).toBe(unversionedUpstream[name]);
    else expect(tag).toMatch(/^v?\d+\.\d+\.\d+/);
  });
});

describe('StatefulSets', () => {
  it.each(ofKind(infra, 'StatefulSet').map((s) => [objectName(s), s] as const))(
    '%s is governed by a headless Service that selects its pods',
    (_name, statefulSet) => {
      const service = ofKind(infra, 'Service').find(
        (s) =>
          s.metadata.name === statefulSet.spec.serviceName &&
          s.metadata.namespace === statefulSet.metadata.namespace,
      );
      expect(service, `Service ${statefulSet.spec.serviceName}`).toBeDefined();
      expect(service?.spec.clusterIP).toBe('None');
      expect(statefulSet.spec.template.metadata.labels).toMatchObject(service?.spec.selector ?? {});
    },
  );
});
