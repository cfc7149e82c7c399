import type { Lease, PoolName } from '../../functions/lib/events/index.ts';
import { guarded } from './client.ts';
import type { RunScript, StoreContext } from './context.ts';
import {
  acquireScript,
  bindContainerScript,
  holdersScript,
  proveLeasesScript,
  reclaimScript,
  releaseScript,
  renewScript,
} from './scripts.ts';

/** Only garbage collection: whether a binding still counts comes from its dump's lease. */
const BINDING_TTL_MS = 7 * 86_400_000;

export interface LeaseClaim {
  pool: PoolName;
  /** Client-generated, so a retried acquire gets the same lease back instead of a second token. */
  leaseId: string;
  ttlMs?: number;
}

export interface GrantedLease extends Lease {
  expiresAt: number;
}

export interface Holder {
  pool: PoolName;
  leaseId: string;
  dumpId: string;
  target: string;
  fence: number;
  acquiredAt: number;
  expiresAt: number;
  expired: boolean;
}

export type AcquireResult = { ok: true; leases: GrantedLease[] } | { ok: false; pool: PoolName };

export interface LeaseHolder {
  dumpId: string;
  /** Who holds it, for `heapdump status`: `<namespace>/<pod>/<container>`. */
  target: string;
}

export interface LeaseProofClaim {
  dumpId: string;
  /** The container the dump is for; without it (a dead letter that no longer says) its binding is not checked. */
  uid?: string;
  container?: string;
  leases: Lease[];
  /** Also require every lease to be unexpired (acting on the dump), not only held for it (settling it). */
  live: boolean;
  /** With `live`: extend each lease to a full lease time from now, the heartbeat of a holder at work. */
  renew?: boolean;
}

export type LeaseProof = { ok: true } | { ok: false; reason: string };

export type ReleaseOutcome = 'released' | 'expired' | 'unknown' | 'fenced';

/** The 4 keys and 4 args per pool that the pool scripts expect. */
export function poolArguments(ctx: StoreContext, claims: LeaseClaim[]) {
  const keys: string[] = [];
  const args: (string | number)[] = [];
  for (const claim of claims) {
    const { keys: k } = ctx;
    keys.push(
      k.leases(claim.pool),
      k.fence(claim.pool),
      k.capacity(claim.pool),
      k.lease(claim.pool, claim.leaseId),
    );
    args.push(
      claim.pool,
      claim.leaseId,
      claim.ttlMs ?? ctx.pools[claim.pool].leaseMs,
      ctx.pools[claim.pool].capacity,
    );
  }
  return { keys, args };
}

export function createPools(ctx: StoreContext, run: RunScript) {
  const { keys, redis } = ctx;
  return {
    /** Takes one token from every claimed pool, or none at all. */
    acquire(claims: LeaseClaim[], holder: LeaseHolder): Promise<AcquireResult> {
      const { keys: scriptKeys, args } = poolArguments(ctx, claims);
      return run<AcquireResult>('acquire', acquireScript, scriptKeys, [
        ctx.now(),
        claims.length,
        holder.dumpId,
        holder.target,
        ...args,
      ]);
    },

    /** Releases exactly these leases; repeating a release frees nothing more. */
    async release(leases: Lease[]): Promise<Array<Lease & { outcome: ReleaseOutcome }>> {
      if (leases.length === 0) return [];
      const outcomes = await run<ReleaseOutcome[]>(
        'release',
        releaseScript,
        leases.flatMap((l) => [keys.leases(l.pool), keys.lease(l.pool, l.leaseId)]),
        [ctx.now(), leases.length, ...leases.flatMap((l) => [l.leaseId, l.fence])],
      );
      return leases.map((lease, i) => ({ ...lease, outcome: outcomes[i] ?? 'unknown' }));
    },

    /**
     * Binds a container (pod uid + name) to the dump that holds `dumpLease`, so one container is never dumped
     * twice at once. Returns the dump id already in flight for it, or null when bound. The binding needs no
     * clean-up: it stops counting as soon as that dump's lease is released or expires.
     */
    async bindContainer(
      uid: string,
      container: string,
      dumpId: string,
      dumpLease: Lease,
    ): Promise<string | null> {
      const other = await run<string>(
        'bind container',
        bindContainerScript,
        [keys.inFlight(uid, container), keys.leases(dumpLease.pool)],
        [ctx.now(), dumpId, dumpLease.leaseId, BINDING_TTL_MS],
      );
      return other ? other : null;
    },

    /**
     * The store's word on an event's claim to act for a dump (DESIGN section 5: a lease is proof): its leases
     * are this dump's with their fences, the container is bound to it, and with `live` none has expired.
     * Events can be forged by anyone who reaches the Broker; the store cannot.
     */
    async prove(claim: LeaseProofClaim): Promise<LeaseProof> {
      const { dumpId, uid, container, leases, live, renew } = claim;
      const bound = uid !== undefined && container !== undefined;
      const reason = await run<string>(
        'prove leases',
        proveLeasesScript,
        [
          keys.inFlight(uid ?? '', container ?? ''),
          ...leases.flatMap((l) => [keys.leases(l.pool), keys.lease(l.pool, l.leaseId)]),
        ],
        [
          ctx.now(),
          dumpId,
          live ? 1 : 0,
          leases.length,
          bound ? 1 : 0,
          ...leases.flatMap((l) => [l.leaseId, l.fence, l.pool, renew ? ctx.pools[l.pool].leaseMs : 0]),
        ],
      );
      return reason ? { ok: false, reason } : { ok: true };
    },

    /** Extends a live lease; false if it expired or was fenced off meanwhile. */
    async renew(lease: Lease, ttlMs = ctx.pools[lease.pool].leaseMs): Promise<number | false> {
      const expiresAt = await run<number>(
        'renew',
        renewScript,
        [keys.leases(lease.pool), keys.lease(lease.pool, lease.leaseId)],
        [ctx.now(), lease.leaseId, lease.fence, ttlMs],
      );
      return expiresAt > 0 ? expiresAt : false;
    },

    async holders(pool: PoolName): Promise<Holder[]> {
      const rows = await run<Omit<Holder, 'pool' | 'expired'>[]>(
        'holders',
        holdersScript,
        [keys.leases(pool)],
        [keys.poolPrefix(pool)],
      );
      const now = ctx.now();
      return rows.map((row) => ({ ...row, pool, expired: row.expiresAt <= now }));
    },

    /** Removes expired leases (a holder that died) and says whose they were. */
    async reclaimExpired(pool: PoolName): Promise<Holder[]> {
      const rows = await run<Omit<Holder, 'pool' | 'expired'>[]>(
        'reclaim',
        reclaimScript,
        [keys.leases(pool)],
        [ctx.now(), keys.poolPrefix(pool)],
      );
      return rows.map((row) => ({ ...row, pool, expired: true }));
    },

    async capacity(pool: PoolName): Promise<number> {
      const value = await guarded('capacity', () => redis.get<string>(keys.capacity(pool)));
      return value === null ? ctx.pools[pool].capacity : Number(value);
    },

    async setCapacity(pool: PoolName, capacity: number): Promise<void> {
      if (!Number.isInteger(capacity) || capacity < 0) throw new Error('capacity must be a whole number ≥ 0');
      await guarded('setCapacity', () => redis.set(keys.capacity(pool), String(capacity)));
    },
  };
}
