import { createHash } from 'node:crypto';
import type { PoolName } from '../../functions/lib/events/index.ts';

/**
 * Every Redis key in one place. Parts come from validated names (pod uid, container, dump id, lease id);
 * the event dedupe key is a hash, so no event field ever becomes a key verbatim.
 */
export function createKeys(prefix: string) {
  const pool = (name: PoolName) => `${prefix}pool:${name}:`;
  return {
    prefix,
    poolPrefix: pool,
    leases: (name: PoolName) => `${pool(name)}leases`,
    lease: (name: PoolName, leaseId: string) => `${pool(name)}lease:${leaseId}`,
    fence: (name: PoolName) => `${pool(name)}fence`,
    capacity: (name: PoolName) => `${pool(name)}capacity`,
    queue: `${prefix}queue`,
    queueSeq: `${prefix}queue:seq`,
    queuedContainer: (uid: string, container: string) => `${prefix}queue:container:${uid}:${container}`,
    request: (dumpId: string) => `${prefix}request:${dumpId}`,
    requestPrefix: `${prefix}request:`,
    /** A served pop's answer, by the first lease id of the request, for a resend of that request. */
    popAnswer: (leaseId: string) => `${prefix}pop-answer:${leaseId}`,
    queuedContainerPrefix: `${prefix}queue:container:`,
    globalSwitch: `${prefix}switch:global`,
    dumped: (uid: string, container: string) => `${prefix}switch:dumped:${uid}:${container}`,
    dumpedPrefix: `${prefix}switch:dumped:`,
    dumpedPattern: `${prefix}switch:dumped:*`,
    restarts: (uid: string, container: string) => `${prefix}restarts:${uid}:${container}`,
    /** The dump a container is being dumped by, and that dump's lease in the dump pool. */
    inFlight: (uid: string, container: string) => `${prefix}inflight:${uid}:${container}`,
    seen: (source: string, id: string) =>
      `${prefix}seen:${createHash('sha256').update(`${source}\n${id}`).digest('hex')}`,
    dump: (dumpId: string) => `${prefix}dump:${dumpId}`,
    dumps: `${prefix}dumps`,
    upload: (dumpId: string) => `${prefix}upload:${dumpId}`,
  };
}
export type Keys = ReturnType<typeof createKeys>;
