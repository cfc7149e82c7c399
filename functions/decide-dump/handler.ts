import { randomUUID } from 'node:crypto';
import type { Store } from '../../adapters/redis-store/index.ts';
import { PermanentError } from '../lib/errors.ts';
import {
  type AnyCloudEvent,
  type BuildOptions,
  type DataOf,
  type EventFactory,
  EventTypes,
  incomingTraceparent,
  type PartialTarget,
  type Pod,
  parseEvent,
  type SkipReason,
} from '../lib/events/index.ts';
import type { FunctionContext, Handler } from '../lib/handler.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { meta } from './meta.ts';
import { findRestart, mayHaveRestarted } from './restart.ts';
import {
  type ContainerChoice,
  candidateContainers,
  isOptedIn,
  notRunning,
  type PodSource,
  partialTarget,
} from './target.ts';
import { approveOrQueue, type Decision, serveQueue, type TokenDeps } from './tokens.ts';

type Trigger = Decision['trigger'];

export type { PodSource } from './target.ts';

export interface DecideDumpDeps {
  store: Store;
  pods: PodSource;
  events: EventFactory;
  log?: Logger;
  /** Dump and lease ids. */
  uuid?: () => string;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** With no restart count recorded for a container, a restart that ended this recently counts. */
  restartWindowMs?: number;
}

/** A dump asked for by an alert, an operator or a pod update, before the pod was looked at. */
interface DumpRequest {
  namespace: string;
  pod: string;
  mode: 'live' | 'collect';
  reason: string;
  force: boolean;
  trigger: Trigger;
  choice: ContainerChoice;
  /** The pod as the update event carried it: its container statuses tell whether a restart happened. */
  update?: Pod;
}

type SkipReasonName = (typeof SkipReason)['options'][number];

/**
 * The only place that decides. Each alert, manual request or pod update becomes exactly one of
 * dump.approved, dump.deferred or dump.skipped; token.released and the sweep tick serve the queue.
 */
export function createDecideDump(deps: DecideDumpDeps): Handler {
  const tokens: TokenDeps = {
    store: deps.store,
    pods: deps.pods,
    events: deps.events,
    uuid: deps.uuid ?? randomUUID,
    now: deps.now ?? Date.now,
    log: deps.log ?? createLogger({ name: meta.name }),
  };
  const windowMs = deps.restartWindowMs ?? 10 * 60_000;

  return async (ctx, event) => {
    // The event id reaches the dump's trigger record (at most 512 characters): checked before anything.
    if (typeof event?.id === 'string' && event.id.length > 512) {
      throw new PermanentError(`event id is ${event.id.length} characters long; at most 512 are accepted`);
    }
    const parsed = parseEvent(event, meta.accepts);
    switch (parsed.type) {
      case EventTypes.tokenReleased:
      case EventTypes.sweep:
        return serveQueue(tokens);
      case EventTypes.alertFiring:
        return decide(ctx, event, fromAlert(parsed.data, event));
      case EventTypes.dumpRequested:
        return decide(ctx, event, fromManualRequest(parsed.data, event));
      case EventTypes.podUpdated:
        return decide(ctx, event, fromPodUpdate(parsed.data, event));
    }
  };

  async function decide(ctx: FunctionContext, event: AnyCloudEvent, request: DumpRequest) {
    const { store, events } = deps;
    const reply: BuildOptions = {
      cause: event,
      traceparent: incomingTraceparent(ctx.headers, event as { traceparent?: unknown }),
    };
    const skip = (target: PartialTarget, reason: SkipReasonName, detail: string) =>
      events(EventTypes.dumpSkipped, { target, reason, detail }, reply);
    const asked = { namespace: request.namespace, pod: request.pod };

    // Most pod updates are not restarts (readiness, scheduling): answered without a single call.
    if (request.update && !request.update.status?.containerStatuses?.some(mayHaveRestarted)) {
      return skip(partialTarget(request.update), 'no-restart', 'no container of this pod has restarted');
    }
    if (!(await store.switches.isGlobalOn())) return skip(asked, 'disabled', 'the global switch is off');
    const pod = await deps.pods.getPod(request.namespace, request.pod);
    if (!pod) return skip(asked, 'not-found', 'the pod does not exist');
    if (request.update && request.update.metadata.uid !== pod.metadata.uid) {
      return skip(partialTarget(request.update), 'not-found', 'the pod of this update was replaced');
    }
    if (!isOptedIn(pod)) {
      return skip(partialTarget(pod), 'not-opted-in', 'the pod is not labelled heapdump.dev/enabled=true');
    }
    const candidates = candidateContainers(pod, request.choice);
    const single = candidates.length === 1 ? candidates[0] : undefined;
    const stopped = notRunning(pod, single, request.mode);
    if (stopped) return skip(partialTarget(pod, single), 'not-running', stopped);

    if (!(await store.records.claimEvent(event.source, event.id))) {
      return skip(
        partialTarget(pod, single),
        'duplicate',
        `event ${event.id} from ${event.source} was seen before`,
      );
    }
    try {
      let container = single!;
      let reason = request.reason;
      if (request.update) {
        const restart = await findRestart(
          { records: store.records, now: tokens.now, windowMs },
          request.update,
          candidates,
          `${event.source}\n${event.id}`,
        );
        if (!restart) return skip(partialTarget(pod, single), 'no-restart', 'no restart count went up');
        ({ container, reason } = restart);
      }
      const target = { ...partialTarget(pod), container, uid: pod.metadata.uid };
      const dumpedBy = request.force ? null : await store.switches.dumpedBy(target.uid, container);
      if (dumpedBy) {
        return skip(target, 'already-dumped', `dump ${dumpedBy} was taken; reset the switch for another`);
      }
      const { mode, trigger, force } = request;
      return await approveOrQueue(
        tokens,
        { target, mode, reason, trigger, force, traceparent: reply.traceparent },
        reply,
      );
    } catch (error) {
      // The Broker retries this event: it must not find it claimed and take itself for a duplicate.
      await store.records.unclaimEvent(event.source, event.id).catch(() => undefined);
      throw error;
    }
  }
}

const triggerOf = (event: AnyCloudEvent, reason: string): Trigger => ({
  type: event.type,
  id: event.id,
  reason,
});

function fromAlert(alert: DataOf<typeof EventTypes.alertFiring>, event: AnyCloudEvent): DumpRequest {
  return {
    namespace: alert.namespace,
    pod: alert.pod,
    mode: 'live',
    reason: alert.alertname,
    force: false,
    trigger: triggerOf(event, 'alert'),
    choice: { suggested: alert.container },
  };
}

function fromManualRequest(
  request: DataOf<typeof EventTypes.dumpRequested>,
  event: AnyCloudEvent,
): DumpRequest {
  return {
    namespace: request.namespace,
    pod: request.pod,
    mode: 'live',
    reason: request.reason,
    force: request.force,
    trigger: triggerOf(event, 'manual'),
    choice: { requested: request.container },
  };
}

function fromPodUpdate(pod: Pod, event: AnyCloudEvent): DumpRequest {
  return {
    namespace: pod.metadata.namespace,
    pod: pod.metadata.name,
    mode: 'collect',
    reason: 'restart',
    force: false,
    trigger: triggerOf(event, 'restart'),
    choice: { anyRestarted: true },
    update: pod,
  };
}
