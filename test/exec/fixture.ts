import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudEvent } from 'cloudevents';
import type { Kubernetes } from '../../adapters/kubernetes/index.ts';
import type { Store } from '../../adapters/redis-store/index.ts';
import { createExecDump, type ExecDumpDeps } from '../../functions/exec-dump/handler.ts';
import { createEventFactory, type DataOf, EventTypes, type Lease } from '../../functions/lib/events/index.ts';
import { type Handler, withErrorMapping } from '../../functions/lib/handler.ts';
import { createLogger } from '../../functions/lib/log.ts';
import type { TestKubeEmulator } from '../helpers/kube-emulator.ts';
import { createLeaseBook, grantInStore } from '../helpers/leases.ts';

export const HPROF_HEADER = 'JAVA PROFILE 1.0.2\0';
const decideDump = createEventFactory('decide-dump');
const log = createLogger({ name: 'exec-dump-test', level: process.env.LOG_LEVEL ?? 'silent' });

/** Leases granted by approvedFor, proven by execDumpHandler's default lease proof. */
export const leaseBook = createLeaseBook();

interface ApprovalOptions {
  mode?: 'live' | 'collect';
  dumpId?: string;
  container?: string;
  uid?: string;
  /** The leases the event carries (default: a dump lease granted in leaseBook). */
  leases?: Lease[];
}

/** A dump.approved for a pod of the emulator, as decide-dump would send it (with its leases). */
export function approvedFor(
  emulator: TestKubeEmulator,
  namespace: string,
  pod: string,
  options: ApprovalOptions = {},
) {
  const object = emulator.pod(namespace, pod);
  if (!object) throw new Error(`no pod ${namespace}/${pod} in the emulator`);
  const dumpId = options.dumpId ?? randomUUID();
  const uid = options.uid ?? object.metadata.uid;
  const container = options.container ?? 'app';
  const leases =
    options.leases ??
    leaseBook.grant(dumpId, uid, container, [{ pool: 'dump', leaseId: randomUUID(), fence: 1 }]);
  return decideDump(
    EventTypes.dumpApproved,
    {
      dumpId,
      target: { namespace, pod, uid, container },
      mode: options.mode ?? 'live',
      reason: 'test',
      trigger: { type: EventTypes.dumpRequested, id: `req-${dumpId}`, reason: 'manual' },
      leases,
    },
    { id: `approved-${dumpId}` },
  );
}

/** A dump.approved whose leases a real store granted, for exec-dump served with that store. */
export async function approvedInStore(
  store: Pick<Store, 'pools'>,
  emulator: TestKubeEmulator,
  namespace: string,
  pod: string,
  options: Omit<ApprovalOptions, 'leases'> = {},
) {
  const dumpId = options.dumpId ?? randomUUID();
  const uid = options.uid ?? emulator.pod(namespace, pod)?.metadata.uid ?? '';
  const leases = await grantInStore(store, dumpId, uid, options.container ?? 'app');
  return approvedFor(emulator, namespace, pod, { ...options, dumpId, leases });
}

/** The real Kubernetes adapter, counting the commands it runs in pods. */
export function countingExecs(kube: Kubernetes) {
  const argvs: string[][] = [];
  return {
    argvs,
    kube: {
      getPod: kube.getPod,
      exec: (target, argv, options) => {
        argvs.push([...argv]);
        return kube.exec(target, argv, options);
      },
    } satisfies ExecDumpDeps['kube'],
  };
}

/** exec-dump in this process, its failures mapped to HTTP codes as faas-js-runtime would see them. */
export function execDumpHandler(
  deps: Omit<ExecDumpDeps, 'events' | 'log' | 'leases'> & Partial<ExecDumpDeps>,
): Handler {
  return withErrorMapping(
    createExecDump({
      events: createEventFactory('exec-dump'),
      leases: leaseBook,
      log,
      timeouts: { settleMs: 300, commandMs: 30_000, dumpMs: 60_000 },
      ...deps,
    }),
    log,
  );
}

export type Captured = DataOf<typeof EventTypes.dumpCaptured>;
export type Failed = DataOf<typeof EventTypes.dumpFailed>;

/** The files on the host behind a pod's volume, with their sizes. */
export async function volumeFiles(
  emulator: TestKubeEmulator,
  namespace: string,
  pod: string,
  volume = 'dumps',
) {
  const dir = emulator.volumePath(namespace, pod, volume);
  if (!dir) throw new Error(`no volume ${volume} in ${namespace}/${pod}`);
  const names = (await readdir(dir)).filter((name) => !name.startsWith('.'));
  return Promise.all(
    names.map(async (name) => ({ name, path: join(dir, name), bytes: (await stat(join(dir, name))).size })),
  );
}

type Reply = CloudEvent<unknown> | undefined;

function dataOfType(reply: Reply, type: string): unknown {
  if (reply?.type !== type)
    throw new Error(`expected ${type}, got ${reply?.type ?? 'no reply'}: ${JSON.stringify(reply?.data)}`);
  return reply.data;
}

/** The reply's data, which must be a dump.captured (else the failure shows what came instead). */
export const capturedOf = (reply: Reply) => dataOfType(reply, EventTypes.dumpCaptured) as Captured;
export const failedOf = (reply: Reply) => dataOfType(reply, EventTypes.dumpFailed) as Failed;
