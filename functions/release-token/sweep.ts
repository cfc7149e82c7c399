import type { DumpRecord, Holder, Store } from '../../adapters/redis-store/index.ts';
import { poolName } from '../lib/events/index.ts';
import type { Logger } from '../lib/log.ts';

/** A holder of these states was past capture: its dump file is in the pod, waiting to be uploaded. */
const uploadStates = new Set<DumpRecord['state']>(['captured', 'uploading']);

function expiredFailure(holders: Holder[], record: DumpRecord | null, now: number): Partial<DumpRecord> {
  const stage = record && uploadStates.has(record.state) ? 'upload' : 'exec';
  const [first] = holders;
  const leases = holders
    .map(
      (h) =>
        `${h.pool} lease ${h.leaseId} (fence ${h.fence}, expired ${new Date(h.expiresAt).toISOString()})`,
    )
    .join(', ');
  return {
    state: 'failed',
    error: {
      stage,
      code: 'lease-expired',
      message:
        `${leases} held for ${first?.target || 'an unknown target'} was never released: the function ` +
        'or pod holding it died or hung; the sweep reclaimed it',
    },
    fileKept: stage === 'upload',
    failedAt: now,
  };
}

/**
 * Reclaims the leases whose holder died (the seed's "pod restarted while holding a token" leak) and marks
 * their dumps failed, unless a dump already finished: a late dump.uploaded still turns a failure into
 * `uploaded`, but a reclaim never overrides a finished record.
 */
export function createSweeper(deps: { store: Store; clock: () => number; log: Logger }) {
  const { store, clock, log } = deps;
  return async (): Promise<Holder[]> => {
    const reclaimed = (
      await Promise.all(poolName.options.map((pool) => store.pools.reclaimExpired(pool)))
    ).flat();
    const byDump = new Map<string, Holder[]>();
    for (const holder of reclaimed) {
      if (holder.dumpId) byDump.set(holder.dumpId, [...(byDump.get(holder.dumpId) ?? []), holder]);
    }
    await Promise.all(
      [...byDump].map(async ([dumpId, holders]) => {
        const record = await store.records.getDump(dumpId);
        if (record?.state === 'uploaded' || record?.state === 'failed') return;
        await store.records.updateDump(dumpId, expiredFailure(holders, record, clock()));
      }),
    );
    if (reclaimed.length > 0) {
      log.warn(
        { reclaimed: reclaimed.map(({ pool, leaseId, dumpId }) => ({ pool, leaseId, dumpId })) },
        'reclaimed expired leases',
      );
    }
    return reclaimed;
  };
}
