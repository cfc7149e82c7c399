import type { Kubernetes } from '../../adapters/kubernetes/index.ts';
import type { Store } from '../../adapters/redis-store/index.ts';
import {
  type BuildOptions,
  type DataOf,
  type EventFactory,
  EventTypes,
  incomingTraceparent,
  parseEvent,
} from '../lib/events/index.ts';
import type { Handler } from '../lib/handler.ts';
import { createLogger, type Logger, logFor } from '../lib/log.ts';
import { planFrom, type Strategy as StrategyName } from './annotations.ts';
import { DumpFailure } from './dump-failure.ts';
import { asDumpFiles } from './dump-files.ts';
import { createJvmCommands } from './jvm.ts';
import { meta } from './meta.ts';
import { metadataOf } from './metadata.ts';
import { createPodCommands } from './pod-commands.ts';
import { collectWritten } from './strategies/collect.ts';
import type { Strategy } from './strategies/context.ts';
import { captureOverHttp } from './strategies/http.ts';
import { captureWithJcmd } from './strategies/jcmd.ts';

const strategies: Record<StrategyName, Strategy> = {
  jcmd: captureWithJcmd,
  collect: collectWritten,
  http: captureOverHttp,
};

export interface ExecDumpTimeouts {
  /** Each small command in the pod (jcmd -l, df, find, VM.flags, ...). */
  commandMs: number;
  /** The dump itself: below the Trigger's 300 s per attempt, so the function answers before the Broker gives up. */
  dumpMs: number;
  /** How long a file must keep its size to count as complete (collect, and a retry's earlier file). */
  settleMs: number;
}

export const defaultTimeouts: ExecDumpTimeouts = { commandMs: 30_000, dumpMs: 240_000, settleMs: 2_000 };
/**
 * An HPROF of many small objects is larger than the heap they use (8-byte ids, a record header per object):
 * 1.19× measured for test/fixtures/java/LiveHeap.java. Heap in use before the dump's full GC also counts garbage.
 */
export const defaultSpaceFactor = 1.5;

export interface ExecDumpDeps {
  kube: Pick<Kubernetes, 'getPod' | 'exec'>;
  /** The store's word on the event's leases: nothing runs in a pod on an event's word alone. */
  leases: Pick<Store['pools'], 'prove'>;
  events: EventFactory;
  /**
   * The dump record: the captured files (upload-dump's list of what it may touch) must be written, the
   * stage updates for `heapdump status` are best effort (a dump matters more than its record).
   */
  records?: Pick<Store['records'], 'updateDump'>;
  log?: Logger;
  now?: () => Date;
  timeouts?: Partial<ExecDumpTimeouts>;
  /** Free space needed in the dump dir before a live dump, as a multiple of the heap in use. */
  spaceFactor?: number;
}

type Approved = DataOf<typeof EventTypes.dumpApproved>;

/**
 * On dump.approved: takes the dump in the pod with the strategy its annotations name (jcmd, collect, http)
 * and replies dump.captured, or dump.failed when the outcome is final. A lost API server or a dump still
 * being written is a 503, so the Broker comes back, and the retry finds the file instead of dumping twice.
 */
export function createExecDump(deps: ExecDumpDeps): Handler {
  const log = deps.log ?? createLogger({ name: meta.name });
  const now = deps.now ?? (() => new Date());
  const timeouts: ExecDumpTimeouts = {
    commandMs: 30_000,
    dumpMs: 240_000,
    settleMs: 2_000,
    ...deps.timeouts,
  };
  const spaceFactor = deps.spaceFactor ?? 1.5;

  const record = async (dumpId: string, fields: Parameters<Store['records']['updateDump']>[1]) => {
    try {
      await deps.records?.updateDump(dumpId, fields);
    } catch (error) {
      log.warn({ err: error, dumpId }, 'could not update the dump record');
    }
  };

  return async (ctx, event) => {
    const { data: approved } = parseEvent(event, meta.accepts);
    const reply: BuildOptions = {
      cause: event,
      traceparent: incomingTraceparent(ctx.headers, event as { traceparent?: unknown }),
    };
    const failed = (failure: DumpFailure) => failedEvent(deps.events, approved, failure, reply);
    const { namespace, pod: podName, uid, container } = approved.target;

    const proof = await deps.leases.prove({ ...approved, uid, container, live: true, renew: true });
    if (!proof.ok) {
      logFor(log, event).warn({ source: event.source, reason: proof.reason }, 'no live lease: nothing run');
      return failed(
        new DumpFailure('no-live-lease', `dump ${approved.dumpId} holds no live lease: ${proof.reason}`),
      );
    }
    const pod = await deps.kube.getPod(namespace, podName);
    if (!pod || pod.metadata.uid !== uid)
      return failed(new DumpFailure('pod-gone', `pod ${namespace}/${podName} (uid ${uid}) no longer exists`));
    if (!pod.spec.containers.some((c) => c.name === container))
      return failed(
        new DumpFailure('no-container', `pod ${namespace}/${podName} has no container ${container}`),
      );
    const plan = planFrom(pod.metadata.annotations, approved.mode);

    const started = now();
    await record(approved.dumpId, { state: 'capturing', capturingAt: started.getTime() });
    const pods = createPodCommands(deps.kube, { namespace, pod: podName, container }, timeouts.commandMs);
    let capture: Awaited<ReturnType<Strategy>>;
    try {
      capture = await strategies[plan.strategy]({
        pod: pods,
        jvm: createJvmCommands(pods),
        plan,
        dumpId: approved.dumpId,
        now,
        settleMs: timeouts.settleMs,
        dumpTimeoutMs: timeouts.dumpMs,
        spaceFactor,
        log: logFor(log, event),
      });
    } catch (error) {
      if (error instanceof DumpFailure) return failed(error);
      throw error;
    }
    const capturedAt = now();
    const files = asDumpFiles(capture.files);
    // Not best effort: upload-dump reads and deletes only the files recorded here, whatever an event names.
    await deps.records?.updateDump(approved.dumpId, {
      state: 'captured',
      capturedAt: capturedAt.getTime(),
      files,
      capturedFiles: files,
      rawBytes: files.reduce((sum, file) => sum + file.bytes, 0),
    });
    return deps.events(
      EventTypes.dumpCaptured,
      {
        dumpId: approved.dumpId,
        target: { ...approved.target, node: pod.spec.nodeName ?? approved.target.node },
        mode: approved.mode,
        trigger: approved.trigger,
        files,
        metadata: metadataOf(pod, approved, plan, capture, {
          capturedAt,
          seconds: (capturedAt.getTime() - started.getTime()) / 1000,
        }),
        leases: approved.leases,
      },
      reply,
    );
  };
}

function failedEvent(events: EventFactory, approved: Approved, failure: DumpFailure, reply: BuildOptions) {
  return events(
    EventTypes.dumpFailed,
    {
      dumpId: approved.dumpId,
      target: approved.target,
      stage: 'exec',
      error: {
        code: failure.reason,
        message: failure.message,
        ...(failure.exitCode !== undefined ? { exitCode: failure.exitCode } : {}),
        ...(failure.stderr ? { stderr: failure.stderr } : {}),
      },
      leases: approved.leases,
      fileKept: failure.fileKept,
    },
    reply,
  );
}
