import { EventTypes } from '../lib/events/index.ts';
import { defineFunction } from '../lib/function-meta.ts';

export const meta = defineFunction({
  name: 'decide-dump',
  accepts: [
    EventTypes.alertFiring,
    EventTypes.podUpdated,
    EventTypes.dumpRequested,
    EventTypes.tokenReleased,
    EventTypes.sweep,
  ],
  emits: [EventTypes.dumpApproved, EventTypes.dumpDeferred, EventTypes.dumpSkipped],
  kubernetes: ['get pods'],
});
