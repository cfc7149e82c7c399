import { EventTypes } from '../lib/events/index.ts';
import { defineFunction } from '../lib/function-meta.ts';

/**
 * Also the dead-letter sink of every Trigger: a dead-lettered event keeps its original type, so
 * release-token accepts every type that carries leases. token.released is posted to K_SINK, not replied.
 */
export const meta = defineFunction({
  name: 'release-token',
  accepts: [
    EventTypes.dumpUploaded,
    EventTypes.dumpFailed,
    EventTypes.sweep,
    EventTypes.dumpApproved,
    EventTypes.dumpCaptured,
    EventTypes.uploadProgressed,
  ],
  emits: [EventTypes.tokenReleased],
  kubernetes: [],
});
