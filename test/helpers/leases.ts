import { randomUUID } from 'node:crypto';
import type { LeaseProof, LeaseProofClaim, Store } from '../../adapters/redis-store/index.ts';
import type { Lease } from '../../functions/lib/events/index.ts';

interface Grant {
  uid: string;
  container: string;
  leases: Lease[];
}

/**
 * An in-memory stand-in for the store's lease proof, for tests about what a function does once its leases
 * hold: what was granted here is proven, anything else refused, by the same rules (every lease this dump's
 * with its fence, a dump lease among them, the same container). Expiry is the store's business: tested there.
 */
export function createLeaseBook() {
  const granted = new Map<string, Grant>();
  const key = (lease: Lease) => `${lease.pool}/${lease.leaseId}/${lease.fence}`;
  return {
    grant(dumpId: string, uid: string, container: string, leases: Lease[]): Lease[] {
      granted.set(dumpId, { uid, container, leases });
      return leases;
    },
    async prove(claim: LeaseProofClaim): Promise<LeaseProof> {
      const grant = granted.get(claim.dumpId);
      if (!grant) return { ok: false, reason: `no lease is held for dump ${claim.dumpId}` };
      const held = new Set(grant.leases.map(key));
      const foreign = claim.leases.find((lease) => !held.has(key(lease)));
      if (foreign) return { ok: false, reason: `lease ${foreign.leaseId} is not held with that fence` };
      if (!claim.leases.some((lease) => lease.pool === 'dump')) return { ok: false, reason: 'no dump lease' };
      if (grant.uid !== claim.uid || grant.container !== claim.container)
        return { ok: false, reason: 'the container is bound to another dump' };
      return { ok: true };
    },
  };
}

/** Leases for a new dump in a real store, taken and bound to the container as decide-dump does. */
export async function grantInStore(
  store: Pick<Store, 'pools'>,
  dumpId: string,
  uid: string,
  container: string,
  pools: readonly ('dump' | 'upload')[] = ['dump', 'upload'],
): Promise<Lease[]> {
  const acquired = await store.pools.acquire(
    pools.map((pool) => ({ pool, leaseId: randomUUID() })),
    { dumpId, target: `test/${uid}/${container}` },
  );
  if (!acquired.ok) throw new Error(`no ${acquired.pool} token left for dump ${dumpId}`);
  const leases = acquired.leases.map(({ pool, leaseId, fence }) => ({ pool, leaseId, fence }));
  const other = await store.pools.bindContainer(
    uid,
    container,
    dumpId,
    leases.find((l) => l.pool === 'dump')!,
  );
  if (other) throw new Error(`container ${uid}/${container} is bound to dump ${other}`);
  return leases;
}
