import type { Store } from '../../adapters/redis-store/index.ts';
import { type EventFactory, EventTypes, incomingTraceparent } from '../lib/events/index.ts';
import type { Handler } from '../lib/handler.ts';
import { type Logger, logFor } from '../lib/log.ts';
import type { PostToSink } from '../lib/sink-poster.ts';
import { createAnnouncer } from './announce.ts';
import { deadLetterOf } from './dead-letter.ts';
import { settlementOf } from './settlement.ts';
import { createSweeper } from './sweep.ts';

export interface ReleaseTokenDeps {
  store: Store;
  events: EventFactory;
  /** Posts token.released to K_SINK (the Broker): a fresh event, because replies of a dead-letter sink are dropped. */
  postToSink: PostToSink;
  /** Milliseconds since the epoch, for the record's timestamps. */
  clock?: () => number;
  log: Logger;
}

/**
 * Gives tokens back: on dump.uploaded and dump.failed, on every Trigger's dead letters, and on the sweep tick.
 * Each step is idempotent (fenced releases, record writes, the switch), so a redelivery repeats them all
 * harmlessly. It always answers 204: it is a dead-letter sink, whose reply Knative drops anyway.
 */
export function createReleaseToken(deps: ReleaseTokenDeps): Handler {
  const { store, log } = deps;
  const clock = deps.clock ?? Date.now;
  const announce = createAnnouncer(deps);
  const sweep = createSweeper({ store, clock, log });

  return async (ctx, event) => {
    const traceparent = incomingTraceparent(ctx.headers, event as { traceparent?: unknown });
    const eventLog = logFor(log, event);
    const letter = deadLetterOf(event);

    if (event.type === EventTypes.sweep && !letter) {
      const reclaimed = await sweep();
      await announce({
        cause: event,
        traceparent,
        freed: reclaimed.length > 0,
        leases: reclaimed,
        reason: 'reclaimed',
      });
      return undefined;
    }

    const settlement = settlementOf(event, letter);
    if (!settlement) {
      eventLog.warn({ deadLetter: letter }, 'dead letter with no leases: nothing to give back');
      return undefined;
    }
    // Anyone who reaches the Broker can send these: only what the store says is this dump's is settled.
    const { dumpId } = settlement;
    const proof = dumpId
      ? await store.pools.prove({ dumpId, ...settlement.container, leases: settlement.leases, live: false })
      : ({ ok: false, reason: 'the event names no dump' } as const);
    if (!dumpId || !proof.ok) {
      const reason = proof.ok ? undefined : proof.reason;
      eventLog.warn(
        { source: event.source, deadLetter: letter, reason },
        'leases not held for this dump: nothing settled',
      );
      // The retry of an attempt that released and then failed to post lands here too: the queue may move.
      await announce({
        cause: event,
        traceparent,
        freed: false,
        leases: settlement.leases,
        reason: 'released',
      });
      return undefined;
    }
    // The switch and the record before the release: once released, a retry proves nothing any more.
    if (settlement.dumped) {
      const { uid, container } = settlement.dumped;
      await store.switches.markDumped(uid, container, dumpId);
    }
    const fields = settlement.record(await store.records.getDump(dumpId), clock());
    if (fields) await store.records.updateDump(dumpId, fields);
    const outcomes = await store.pools.release(settlement.leases);
    const posted = await announce({
      cause: event,
      traceparent,
      freed: outcomes.some((o) => o.outcome === 'released' || o.outcome === 'expired'),
      // Fenced leases belong to someone else now; every other one is no longer held for this dump.
      leases: outcomes.filter((o) => o.outcome !== 'fenced'),
      reason: 'released',
    });
    eventLog.info(
      {
        deadLetter: letter,
        outcomes: outcomes.map(({ pool, leaseId, outcome }) => ({ pool, leaseId, outcome })),
        tokenReleased: posted?.id,
      },
      'settled',
    );
    return undefined;
  };
}
