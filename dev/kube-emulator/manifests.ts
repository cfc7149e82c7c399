import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { describeZodError } from '../../functions/lib/errors.ts';
import { containerName, namespaceName, podName } from '../../functions/lib/events/names.ts';
import { parseMemoryQuantity } from './quantity.ts';

/**
 * The part of a Pod manifest the emulator understands. There are no images: a container is a host
 * process, so `command` is required (there is no image entrypoint to fall back on).
 */
const EnvVar = z.object({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z
    .object({
      fieldRef: z.object({
        fieldPath: z.enum([
          'metadata.name',
          'metadata.namespace',
          'metadata.uid',
          'spec.nodeName',
          'status.podIP',
        ]),
      }),
    })
    .optional(),
});

const mountPath = z.string().regex(/^\/[^\0]*$/, 'must be an absolute path');

const Container = z.object({
  name: containerName,
  image: z.string().default('host-process'),
  command: z.array(z.string()).min(1, 'the emulator runs host processes: command is required'),
  args: z.array(z.string()).default([]),
  env: z.array(EnvVar).default([]),
  workingDir: mountPath.optional(),
  resources: z
    .object({
      limits: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      requests: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    })
    .default({}),
  volumeMounts: z
    .array(z.object({ name: z.string(), mountPath, readOnly: z.boolean().optional() }))
    .default([]),
});

const Volume = z
  .object({
    name: z.string().min(1),
    emptyDir: z.object({}).loose().optional(),
    hostPath: z.object({ path: mountPath }).loose().optional(),
  })
  .refine((volume) => Boolean(volume.emptyDir) !== Boolean(volume.hostPath), {
    message: 'a volume is either emptyDir or hostPath',
  });

export const PodManifest = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('Pod').default('Pod'),
    metadata: z.object({
      name: podName,
      namespace: namespaceName.default('default'),
      labels: z.record(z.string(), z.string()).default({}),
      annotations: z.record(z.string(), z.string()).default({}),
    }),
    spec: z
      .object({
        restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).default('Always'),
        nodeName: z.string().optional(),
        containers: z.array(Container).min(1),
        volumes: z.array(Volume).default([]),
      })
      .loose(),
  })
  .superRefine((pod, context) => {
    const volumes = new Set(pod.spec.volumes.map((volume) => volume.name));
    const names = new Set<string>();
    pod.spec.containers.forEach((container, index) => {
      if (names.has(container.name))
        context.addIssue({
          code: 'custom',
          path: ['spec', 'containers', index, 'name'],
          message: 'duplicate',
        });
      names.add(container.name);
      const memory = container.resources.limits?.memory;
      if (memory !== undefined && parseMemoryQuantity(memory) === undefined)
        context.addIssue({
          code: 'custom',
          path: ['spec', 'containers', index, 'resources', 'limits', 'memory'],
          message: `not a memory quantity: ${memory}`,
        });
      container.volumeMounts.forEach((mount, m) => {
        if (!volumes.has(mount.name))
          context.addIssue({
            code: 'custom',
            path: ['spec', 'containers', index, 'volumeMounts', m, 'name'],
            message: `no volume named ${mount.name}`,
          });
      });
    });
  });
export type PodManifest = z.infer<typeof PodManifest>;
export type ContainerManifest = PodManifest['spec']['containers'][number];

/** Parses one or more YAML documents of Pods (or `kind: List` of Pods); every problem names its document. */
export function parsePodManifests(text: string): PodManifest[] {
  const pods: PodManifest[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    if (document.errors.length) throw new Error(`pods document ${index + 1}: ${document.errors[0]?.message}`);
    const value = document.toJS() as unknown;
    if (value == null) return;
    const items = isList(value) ? value.items : [value];
    items.forEach((item, itemIndex) => {
      const parsed = PodManifest.safeParse(item);
      const where = isList(value) ? `document ${index + 1} item ${itemIndex + 1}` : `document ${index + 1}`;
      if (!parsed.success) throw new Error(`pods ${where}: ${describeZodError(parsed.error)}`);
      pods.push(parsed.data);
    });
  });
  return pods;
}

export async function readPodManifests(path: string): Promise<PodManifest[]> {
  return parsePodManifests(await readFile(path, 'utf8'));
}

function isList(value: unknown): value is { items: unknown[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'List' &&
    Array.isArray((value as { items?: unknown }).items)
  );
}

export function memoryLimitOf(container: ContainerManifest): number | undefined {
  const memory = container.resources.limits?.memory;
  return memory === undefined ? undefined : parseMemoryQuantity(memory);
}
