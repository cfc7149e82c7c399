import { EventTypes } from '../lib/events/index.ts';
import { defineFunction } from '../lib/function-meta.ts';

export const meta = defineFunction({
  name: 'upload-dump',
  accepts: [EventTypes.dumpCaptured, EventTypes.uploadProgressed],
  emits: [EventTypes.uploadProgressed, EventTypes.dumpUploaded, EventTypes.dumpFailed],
  kubernetes: ['get pods', 'create pods/exec'],
});
