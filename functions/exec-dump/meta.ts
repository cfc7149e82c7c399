import { EventTypes } from '../lib/events/index.ts';
import { defineFunction } from '../lib/function-meta.ts';

export const meta = defineFunction({
  name: 'exec-dump',
  accepts: [EventTypes.dumpApproved],
  emits: [EventTypes.dumpCaptured, EventTypes.dumpFailed],
  kubernetes: ['get pods', 'create pods/exec'],
});
