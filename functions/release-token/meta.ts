import { EventTypes } from '../lib/events/index.ts';
import { defineFunction } from '../lib/function-meta.ts';

/** What the release-token Triggers route here. */
export const routedTypes = [EventTypes.dumpUploaded, EventTypes.dumpFailed, EventTypes.sweep] as const;

/**
 * release-token is the dead-letter sink of every Trigger, and a dead letter keeps its original type, so it
 * also receives what the other functions gave up on. Events of these types reach it only as dead letters,
 * even when Knative could attach no knativeerror* extensions (a per-attempt timeout).
 */
export const deadLetterOnlyTypes = [
  // exec-dump's and upload-dump's inputs: they carry leases to give back.
  EventTypes.dumpApproved,
  EventTypes.dumpCaptured,
  EventTypes.uploadProgressed,
  // decide-dump's inputs: nothing to give back, only logged.
  EventTypes.alertFiring,
  EventTypes.podUpdated,
  EventTypes.dumpRequested,
  EventTypes.tokenReleased,
] as const;

/** token.released is posted to K_SINK as a fresh event, never replied (DESIGN section 10). */
export const meta = defineFunction({
  name: 'release-token',
  accepts: [...routedTypes, ...deadLetterOnlyTypes],
  emits: [EventTypes.tokenReleased],
  kubernetes: [],
});
