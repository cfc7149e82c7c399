import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseDuration, toSeconds } from 'iso8601-duration';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

const run = promisify(execFile);

const Reference = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
});
export type Reference = z.infer<typeof Reference>;

/** A Knative Destination: a ref resolved to a URL, an absolute uri, or a ref plus a path relative to it. */
const Destination = z
  .object({ ref: Reference.optional(), uri: z.string().optional() })
  .refine((d) => d.ref || d.uri, 'needs a ref or a uri');
export type Destination = z.infer<typeof Destination>;

const DeliverySpec = z.object({
  retry: z.number().int().min(0).optional(),
  backoffPolicy: z.enum(['linear', 'exponential']).optional(),
  backoffDelay: z.string().optional(),
  timeout: z.string().optional(),
  deadLetterSink: Destination.optional(),
});

const TriggerDocument = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string().optional() }),
  spec: z.object({
    broker: z.string(),
    filter: z.object({ attributes: z.record(z.string(), z.string()).optional() }).optional(),
    filters: z.array(z.unknown()).optional(),
    subscriber: Destination,
    delivery: DeliverySpec.optional(),
  }),
});

const BrokerDocument = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string().optional() }),
  spec: z.object({ delivery: DeliverySpec.optional() }).optional(),
});

export interface Delivery {
  /** Retries after the first attempt (Knative's `retry`). */
  retry: number;
  backoffPolicy?: 'linear' | 'exponential';
  backoffDelayMs?: number;
  /** Per attempt (Knative's `timeout`); none means wait as long as the subscriber takes. */
  timeoutMs?: number;
  deadLetterSink?: Destination;
}

export interface Trigger {
  name: string;
  namespace: string;
  broker: string;
  /** Exact match on CloudEvent attributes and extensions; an empty value matches any value. */
  filter: Record<string, string>;
  subscriber: Destination;
  delivery: Delivery;
}

const EVENTING_V1 = 'eventing.knative.dev/v1';

/**
 * Triggers from a kustomize directory (rendered by `kubectl kustomize`, as `kubectl apply -k` would), a
 * directory or file of plain YAML, or YAML text. A Trigger without `delivery` takes its Broker's
 * `spec.delivery` when that Broker is among the documents; the two are never merged, as in Knative.
 */
export async function loadTriggers(source: string): Promise<Trigger[]> {
  const documents = parseAllDocuments(await readManifests(source)).map((doc) => {
    if (doc.errors.length > 0)
      throw new Error(`invalid YAML in ${describe(source)}: ${doc.errors[0]!.message}`);
    return doc.toJS() as unknown;
  });
  const objects = documents.flatMap(flattenLists).filter(isEventingObject);
  const brokerDelivery = new Map<string, z.infer<typeof DeliverySpec> | undefined>();
  for (const object of objects.filter((o) => o.kind === 'Broker')) {
    const broker = parseObject(BrokerDocument, object, 'Broker');
    brokerDelivery.set(keyOf(broker.metadata.namespace, broker.metadata.name), broker.spec?.delivery);
  }
  return objects
    .filter((o) => o.kind === 'Trigger')
    .map((object) => {
      const { metadata, spec } = parseObject(TriggerDocument, object, 'Trigger');
      const where = `Trigger ${metadata.name}`;
      if (spec.filters?.length) {
        throw new Error(
          `${where}: spec.filters is not supported by the local Broker; use spec.filter.attributes`,
        );
      }
      const namespace = metadata.namespace ?? 'default';
      const delivery = spec.delivery ?? brokerDelivery.get(keyOf(namespace, spec.broker));
      return {
        name: metadata.name,
        namespace,
        broker: spec.broker,
        filter: spec.filter?.attributes ?? {},
        subscriber: spec.subscriber,
        delivery: toDelivery(delivery, where),
      };
    });
}

async function readManifests(source: string): Promise<string> {
  if (source.includes('\n') || /^\s*(apiVersion|kind|---)/.test(source)) return source;
  const info = await stat(source);
  if (!info.isDirectory()) return readFile(source, 'utf8');
  const files = (await readdir(source)).sort();
  if (files.some((f) => /^(kustomization\.ya?ml|Kustomization)$/.test(f))) {
    const { stdout } = await run('kubectl', ['kustomize', source], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  }
  const yamlFiles = files.filter((f) => /\.ya?ml$/.test(f));
  const texts = await Promise.all(yamlFiles.map((f) => readFile(join(source, f), 'utf8')));
  return texts.join('\n---\n');
}

function toDelivery(spec: z.infer<typeof DeliverySpec> | undefined, where: string): Delivery {
  if (!spec) return { retry: 0 };
  return {
    retry: spec.retry ?? 0,
    // Knative applies a backoff only when both the policy and the delay are set; otherwise retries are immediate.
    ...(spec.backoffPolicy && spec.backoffDelay
      ? {
          backoffPolicy: spec.backoffPolicy,
          backoffDelayMs: durationMs(spec.backoffDelay, `${where} backoffDelay`),
        }
      : {}),
    ...(spec.timeout ? { timeoutMs: durationMs(spec.timeout, `${where} timeout`) } : {}),
    ...(spec.deadLetterSink ? { deadLetterSink: spec.deadLetterSink } : {}),
  };
}

/** ISO-8601 duration (`PT0.2S`, `PT5M`) in milliseconds. */
export function durationMs(text: string, what = 'duration'): number {
  try {
    return Math.round(toSeconds(parseDuration(text)) * 1000);
  } catch {
    throw new Error(`${what}: "${text}" is not an ISO-8601 duration (e.g. PT0.2S)`);
  }
}

interface KubeObject {
  apiVersion?: unknown;
  kind?: unknown;
  items?: unknown;
}

function flattenLists(document: unknown): unknown[] {
  const object = document as KubeObject | null;
  if (object && object.kind === 'List' && Array.isArray(object.items)) return object.items;
  return object ? [object] : [];
}

function isEventingObject(object: unknown): object is KubeObject & { kind: string } {
  const o = object as KubeObject;
  return o.apiVersion === EVENTING_V1 && (o.kind === 'Trigger' || o.kind === 'Broker');
}

function parseObject<T>(schema: z.ZodType<T>, object: unknown, kind: string): T {
  const result = schema.safeParse(object);
  if (result.success) return result.data;
  const name = (object as { metadata?: { name?: unknown } }).metadata?.name ?? '(unnamed)';
  const issue = result.error.issues[0]!;
  throw new Error(`${kind} ${String(name)}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? 'default'}/${name}`;
const describe = (source: string) => (source.includes('\n') ? 'YAML text' : source);
