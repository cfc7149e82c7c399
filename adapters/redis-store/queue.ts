import type { PoolName } from '../../functions/lib/events/index.ts';
import { guarded } from './client.ts';
import type { RunScript, StoreContext } from './context.ts';
import { type GrantedLease, type LeaseClaim, type LeaseHolder, poolArguments } from './pools.ts';
import { dequeueScript, enqueueScript, popIfAvailableScript } from './scripts.ts';

export interface QueuedRequest {
  dumpId: string;
  uid: string;
  container: string;
  holder: LeaseHolder['target'];
  /** Whatever the decider needs to approve it later; stored as JSON. */
  payload: unknown;
}

export interface EnqueueResult {
  added: boolean;
  /** The dump id that holds the place (an earlier one when this container was already waiting). */
  dumpId: string;
  position: number;
}

export type PopResult =
  | { ok: true; dumpId: string; payload: unknown; leases: GrantedLease[] }
  | { ok: false; empty: true }
  | { ok: false; pool: PoolName; head: string };

export function createQueue(ctx: StoreContext, run: RunScript) {
  const { keys, redis } = ctx;
  return {
    /** FIFO, idempotent by dump id, once per container. */
    enqueue(request: QueuedRequest): Promise<EnqueueResult> {
      return run<EnqueueResult>(
        'enqueue',
        enqueueScript,
        [
          keys.queue,
          keys.queueSeq,
          keys.request(request.dumpId),
          keys.queuedContainer(request.uid, request.container),
        ],
        [request.dumpId, JSON.stringify(request.payload), request.uid, request.container, request.holder],
      );
    },

    /** Pops the head only if every pool has a token for it, taking those tokens in the same atomic step. */
    async popIfAvailable(claims: LeaseClaim[]): Promise<PopResult> {
      // Lease ids are generated before we know the head; the script binds them to whichever dump it pops.
      const { keys: poolKeys, args } = poolArguments(ctx, claims);
      const result = await run<
        | { ok: true; dumpId: string; payload: string | null; leases: GrantedLease[] }
        | Exclude<PopResult, { ok: true }>
      >(
        'popIfAvailable',
        popIfAvailableScript,
        [keys.queue, ...poolKeys, keys.popAnswer(claims[0]?.leaseId ?? '')],
        [ctx.now(), claims.length, keys.requestPrefix, keys.queuedContainerPrefix, ...args],
      );
      if (!result.ok) return result;
      return { ...result, payload: result.payload ? JSON.parse(result.payload) : null };
    },

    remove(dumpId: string, uid: string, container: string): Promise<number> {
      return run<number>(
        'dequeue',
        dequeueScript,
        [keys.queue, keys.request(dumpId), keys.queuedContainer(uid, container)],
        [dumpId],
      );
    },

    async list(): Promise<Array<{ dumpId: string; position: number; payload: unknown }>> {
      const ids = await guarded('queue list', () => redis.zrange<string[]>(keys.queue, 0, -1));
      if (ids.length === 0) return [];
      const payloads = await guarded('queue list', () => {
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hget(keys.request(id), 'payload');
        return pipeline.exec<(string | null)[]>();
      });
      return ids.map((dumpId, i) => ({
        dumpId,
        position: i + 1,
        payload: payloads[i] ? JSON.parse(payloads[i]!) : null,
      }));
    },

    length(): Promise<number> {
      return guarded('queue length', () => redis.zcard(keys.queue));
    },
  };
}
