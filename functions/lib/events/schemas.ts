import { z } from 'zod';
import {
  containerName,
  dumpId,
  leaseId,
  namespaceName,
  nodeName,
  podName,
  podUid,
  poolName,
} from './names.ts';

export const EventTypes = {
  alertFiring: 'dev.heapdump.alert.firing',
  podAdded: 'dev.knative.apiserver.resource.add',
  podUpdated: 'dev.knative.apiserver.resource.update',
  podDeleted: 'dev.knative.apiserver.resource.delete',
  dumpRequested: 'dev.heapdump.dump.requested',
  dumpApproved: 'dev.heapdump.dump.approved',
  dumpDeferred: 'dev.heapdump.dump.deferred',
  dumpSkipped: 'dev.heapdump.dump.skipped',
  dumpCaptured: 'dev.heapdump.dump.captured',
  uploadProgressed: 'dev.heapdump.upload.progressed',
  dumpUploaded: 'dev.heapdump.dump.uploaded',
  dumpFailed: 'dev.heapdump.dump.failed',
  tokenReleased: 'dev.heapdump.token.released',
  /** A PingSource always emits this type (ceOverrides cannot change it), so it is the sweep tick's type. */
  sweep: 'dev.knative.sources.ping',
} as const;

const labels = z.record(z.string().max(317), z.string().max(63 * 1024));
const timestamp = z.iso.datetime({ offset: true });
const bytes = z.number().int().nonnegative();
const sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'must be a hex sha256');

export const Lease = z.object({ pool: poolName, leaseId, fence: z.number().int().positive() });
export type Lease = z.infer<typeof Lease>;

export const Target = z.object({
  namespace: namespaceName,
  pod: podName,
  uid: podUid,
  container: containerName,
  node: nodeName.optional(),
});
export type Target = z.infer<typeof Target>;

/** What is known before the pod was resolved (a skip may happen before we know the uid or container). */
export const PartialTarget = z.object({
  namespace: namespaceName,
  pod: podName,
  uid: podUid.optional(),
  container: containerName.optional(),
  node: nodeName.optional(),
});
export type PartialTarget = z.infer<typeof PartialTarget>;

export const DumpFile = z.object({
  path: z
    .string()
    .max(4096)
    .regex(/^\/[A-Za-z0-9._/-]+$/, 'must be an absolute path of safe characters')
    .refine((p) => !p.split('/').includes('..'), 'must not contain ".."'),
  bytes,
});
export type DumpFile = z.infer<typeof DumpFile>;

export const AlertFiring = z.object({
  alertname: z.string().min(1).max(256),
  namespace: namespaceName,
  pod: podName,
  container: containerName.optional(),
  severity: z.string().max(64).optional(),
  startsAt: timestamp,
  fingerprint: z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'must be an Alertmanager fingerprint'),
  labels,
  annotations: labels,
  groupKey: z.string().max(4096).optional(),
});

const ContainerState = z.looseObject({
  running: z.looseObject({ startedAt: z.string().optional() }).optional(),
  waiting: z.looseObject({ reason: z.string().optional() }).optional(),
  terminated: z
    .looseObject({
      exitCode: z.number().int(),
      reason: z.string().max(256).optional(),
      startedAt: z.string().nullish(),
      finishedAt: z.string().nullish(),
    })
    .optional(),
});

export const ContainerStatus = z.looseObject({
  name: containerName,
  restartCount: z.number().int().nonnegative(),
  ready: z.boolean().optional(),
  state: ContainerState.optional(),
  lastState: ContainerState.optional(),
});
export type ContainerStatus = z.infer<typeof ContainerStatus>;

/** The Pod as the API server sends it; only the fields we read are checked, the rest is carried. */
export const Pod = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z.looseObject({
    name: podName,
    namespace: namespaceName,
    uid: podUid,
    labels: labels.optional(),
    annotations: labels.optional(),
  }),
  spec: z.looseObject({
    nodeName: nodeName.optional(),
    containers: z.array(z.looseObject({ name: containerName })).min(1),
  }),
  status: z
    .looseObject({
      phase: z.string().optional(),
      containerStatuses: z.array(ContainerStatus).optional(),
    })
    .optional(),
});
export type Pod = z.infer<typeof Pod>;

export const DumpRequested = z.object({
  namespace: namespaceName,
  pod: podName,
  container: containerName.optional(),
  reason: z.string().min(1).max(256).default('manual'),
  force: z.boolean().default(false),
});

const DumpMode = z.enum(['live', 'collect']);

/** Why this dump exists, carried to the metadata stored beside it. */
export const Trigger = z.object({
  type: z.string().max(256),
  id: z.string().max(512),
  reason: z.string().max(256),
});

export const DumpApproved = z.object({
  dumpId,
  target: Target,
  mode: DumpMode,
  reason: z.string().max(256),
  trigger: Trigger,
  leases: z.array(Lease),
});

export const DumpDeferred = z.object({
  dumpId,
  target: Target,
  mode: DumpMode,
  position: z.number().int().positive(),
});

export const SkipReason = z.enum([
  'disabled',
  'not-opted-in',
  'not-found',
  'already-dumped',
  'duplicate',
  'not-running',
  'no-restart',
  'already-queued',
  'in-progress',
]);

export const DumpSkipped = z.object({
  target: PartialTarget,
  reason: SkipReason,
  detail: z.string().max(1024).optional(),
});

const Metadata = z.record(z.string(), z.unknown());

export const DumpCaptured = z.object({
  dumpId,
  target: Target,
  mode: DumpMode,
  trigger: Trigger.optional(),
  files: z.array(DumpFile).min(1),
  metadata: Metadata,
  leases: z.array(Lease),
});

export const Checkpoint = z.object({
  fileIndex: z.number().int().nonnegative(),
  offset: bytes,
  segments: z.number().int().nonnegative(),
  storedBytes: bytes,
});

export const UploadProgressed = DumpCaptured.extend({
  checkpoint: Checkpoint,
  bytesDone: bytes,
  bytesTotal: bytes,
});

export const Location = z.object({ backend: z.enum(['file', 'sftp', 'azure']), uri: z.string().max(4096) });

export const DumpUploaded = z.object({
  dumpId,
  target: Target,
  location: Location,
  metadataLocation: Location.optional(),
  rawBytes: bytes,
  storedBytes: bytes,
  sha256,
  rawSha256: sha256.optional(),
  seconds: z.number().nonnegative(),
  leases: z.array(Lease),
});

export const Stage = z.enum(['decide', 'exec', 'upload', 'release']);

export const DumpFailed = z.object({
  dumpId,
  target: Target.optional(),
  stage: Stage,
  error: z.object({
    code: z.string().max(64),
    message: z.string().max(4096),
    exitCode: z.number().int().optional(),
    stderr: z.string().max(4096).optional(),
  }),
  leases: z.array(Lease),
  fileKept: z.boolean(),
  files: z.array(DumpFile).optional(),
});

export const TokenReleased = z.object({
  pools: z.array(poolName),
  leaseIds: z.array(leaseId),
  reason: z.enum(['released', 'reclaimed']).default('released'),
});

export const Sweep = z.unknown();

export const schemas = {
  [EventTypes.alertFiring]: AlertFiring,
  [EventTypes.podAdded]: Pod,
  [EventTypes.podUpdated]: Pod,
  [EventTypes.podDeleted]: Pod,
  [EventTypes.dumpRequested]: DumpRequested,
  [EventTypes.dumpApproved]: DumpApproved,
  [EventTypes.dumpDeferred]: DumpDeferred,
  [EventTypes.dumpSkipped]: DumpSkipped,
  [EventTypes.dumpCaptured]: DumpCaptured,
  [EventTypes.uploadProgressed]: UploadProgressed,
  [EventTypes.dumpUploaded]: DumpUploaded,
  [EventTypes.dumpFailed]: DumpFailed,
  [EventTypes.tokenReleased]: TokenReleased,
  [EventTypes.sweep]: Sweep,
} as const;

export type Schemas = typeof schemas;
export type EventType = keyof Schemas;
/** The data of an event as handlers see it after parsing (defaults applied). */
export type DataOf<T extends EventType> = z.output<Schemas[T]>;
/** The data a constructor accepts (defaults may be left out). */
export type InputOf<T extends EventType> = z.input<Schemas[T]>;

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(schemas, type);
}
