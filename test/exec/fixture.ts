import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudEvent } from 'cloudevents';
import type { Kubernetes } from '../../adapters/kubernetes/index.ts';
import { createExecDump, type ExecDumpDeps } from '../../functions/exec-dump/handler.ts';
import { createEventFactory, type DataOf, EventTypes } from '../../functions/lib/events/index.ts';
import { type Handler, withErrorMapping } from '../../functions/lib/handler.ts';
import { createLogger } from '../../functions/lib/log.ts';
import type { TestKubeEmulator } from '../helpers/kube-emulator.ts';

export const HPROF_HEADER = 'JAVA PROFILE 1.0.2\0';
const decideDump = createEventFactory('decide-dump');
const log = createLogger({ name: 'exec-dump-test', level: process.env.LOG_LEVEL ?? 'silent' });

/** A dump.approved for a pod of the emulator, as decide-dump would send it (with its leases). */
export function approvedFor(
  emulator: TestKubeEmulator,
  namespace: string,
  pod: string,
  options: { mode?: 'live' | 'collect'; dumpId?: string; container?: string; uid?: string } = {},
) {
  const object = emulator.pod(namespace, pod);
  if (!object) throw new Error(`no pod ${namespace}/${pod} in the emulator`);
  const dumpId = options.dumpId ?? randomUUID();
  return decideDump(
    EventTypes.dumpApproved,
    {
      dumpId,
      target: {
        namespace,
        pod,
        uid: options.uid ?? object.metadata.uid,
        container: options.container ?? 'app',
      },
      mode: options.mode ?? 'live',
      reason: 'test',
      trigger: { type: EventTypes.dumpRequested, id: `req-${dumpId}`, reason: 'manual' },
      leases: [{ pool: 'dump', leaseId: randomUUID(), fence: 1 }],
    },
    { id: `approved-${dumpId}` },
  );
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
export function execDumpHandler(deps: Omit<ExecDumpDeps, 'events' | 'log'>): Handler {
  return withErrorMapping(
    createExecDump({
      events: createEventFactory('exec-dump'),
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
