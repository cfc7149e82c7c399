import { z } from 'zod';
import type { DumpRecord } from '../../adapters/redis-store/index.ts';
import { BadRequestError } from '../lib/errors.ts';
import {
  type AnyCloudEvent,
  type DataOf,
  DumpFile,
  dumpId,
  EventTypes,
  Lease,
  type Parsed,
  parseEvent,
} from '../lib/events/index.ts';
import { type DeadLetter, describeDeadLetter } from './dead-letter.ts';

type Stage = NonNullable<DumpRecord['error']>['stage'];

/** What one event settles: the leases to give back, the switch to turn off, what the dump record says. */
export interface Settlement {
  dumpId?: string;
  leases: Lease[];
  /** The container the event says the dump was for; the store must agree before anything is settled. */
  container?: { uid: string; container: string };
  /** Set when the dump is stored: this container's switch turns off. */
  dumped?: { uid: string; container: string; dumpId: string };
  /** The record fields to write, given the record as it is now; undefined leaves the record alone. */
  record(current: DumpRecord | null, now: number): Partial<DumpRecord> | undefined;
}

const leaseCarriers = [
  EventTypes.dumpUploaded,
  EventTypes.dumpFailed,
  EventTypes.dumpApproved,
  EventTypes.dumpCaptured,
  EventTypes.uploadProgressed,
] as const;
type LeaseCarrier = (typeof leaseCarriers)[number];

/** Where the chain stood when the Broker gave up on an event of this type. */
const deadLetterStage: Record<LeaseCarrier, { stage: Stage; fileKept: boolean }> = {
  [EventTypes.dumpApproved]: { stage: 'exec', fileKept: false },
  // The dump was written in the pod and is still there: a later trigger in collect mode can pick it up.
  [EventTypes.dumpCaptured]: { stage: 'upload', fileKept: true },
  [EventTypes.uploadProgressed]: { stage: 'upload', fileKept: true },
  [EventTypes.dumpUploaded]: { stage: 'release', fileKept: false },
  [EventTypes.dumpFailed]: { stage: 'release', fileKept: false },
};

/** A stored dump stays stored: nothing that arrives later turns its record into a failure. */
const unlessUploaded =
  (fields: (now: number) => Partial<DumpRecord>) =>
  (current: DumpRecord | null, now: number): Partial<DumpRecord> | undefined =>
    current?.state === 'uploaded' ? undefined : fields(now);

function uploaded(data: DataOf<typeof EventTypes.dumpUploaded>): Settlement {
  return {
    dumpId: data.dumpId,
    leases: data.leases,
    container: data.target,
    dumped: { uid: data.target.uid, container: data.target.container, dumpId: data.dumpId },
    // Even over a lease-expired failure: the dump is stored and verified, that is what the record must say.
    record: (_current, now) => ({
      state: 'uploaded',
      location: data.location.uri,
      metadataLocation: data.metadataLocation?.uri,
      rawBytes: data.rawBytes,
      storedBytes: data.storedBytes,
      sha256: data.sha256,
      uploadedAt: now,
    }),
  };
}

function failed(data: DataOf<typeof EventTypes.dumpFailed>, letter: DeadLetter | undefined): Settlement {
  const note = letter ? ` (${describeDeadLetter(letter, EventTypes.dumpFailed)})` : '';
  return {
    dumpId: data.dumpId,
    leases: data.leases,
    container: data.target,
    record: unlessUploaded((now) => ({
      state: 'failed',
      error: { stage: data.stage, code: data.error.code, message: `${data.error.message}${note}` },
      fileKept: data.fileKept,
      files: data.files,
      failedAt: now,
    })),
  };
}

function gaveUp(
  type: LeaseCarrier,
  letter: DeadLetter,
  data: { dumpId?: string; leases: Lease[]; files?: DumpFile[]; target?: { uid: string; container: string } },
): Settlement {
  const { stage, fileKept } = deadLetterStage[type];
  return {
    dumpId: data.dumpId,
    leases: data.leases,
    container: data.target,
    record: unlessUploaded((now) => ({
      state: 'failed',
      error: { stage, code: 'dead-letter', message: describeDeadLetter(letter, type) },
      fileKept,
      files: data.files,
      failedAt: now,
    })),
  };
}

/**
 * What can still be read from a dead letter whose data fails its schema (it may be why it died): a lease id
 * with its fence is all a release needs, and fencing keeps a wrong one from freeing anybody else's token.
 */
const Salvage = z
  .object({
    dumpId: dumpId.optional().catch(undefined),
    leases: z
      .array(z.unknown())
      .catch([])
      .transform((items) => items.flatMap((item) => Lease.safeParse(item).data ?? [])),
    files: z.array(DumpFile).optional().catch(undefined),
    target: z.object({ uid: z.string(), container: z.string() }).optional().catch(undefined),
  })
  .catch({ leases: [] });

/**
 * The settlement of a lease-carrying event, ordinary or dead letter; undefined for a dead letter that carries
 * nothing to give back (decide-dump's inputs). The sweep is not settled here.
 */
export function settlementOf(event: AnyCloudEvent, letter: DeadLetter | undefined): Settlement | undefined {
  if (!letter) {
    const parsed = parseEvent(event, [EventTypes.dumpUploaded, EventTypes.dumpFailed]);
    return parsed.type === EventTypes.dumpUploaded ? uploaded(parsed.data) : failed(parsed.data, undefined);
  }
  const type = event.type as LeaseCarrier;
  if (!leaseCarriers.includes(type)) return undefined;
  let parsed: Parsed<LeaseCarrier>;
  try {
    parsed = parseEvent(event, leaseCarriers);
  } catch (error) {
    if (error instanceof BadRequestError) throw error;
    return gaveUp(type, letter, Salvage.parse(event.data));
  }
  if (parsed.type === EventTypes.dumpUploaded) return uploaded(parsed.data);
  if (parsed.type === EventTypes.dumpFailed) return failed(parsed.data, letter);
  return gaveUp(parsed.type, letter, parsed.data);
}
