import { EventTypes } from '../lib/events/index.ts';
import { defineFunction } from '../lib/function-meta.ts';

export const meta = defineFunction({
  name: 'upload-dump',
  accepts: [EventTypes.dumpCaptured, EventTypes.uploadProgressed],
  emits: [EventTypes.uploadProgressed, EventTypes.dumpUploaded, EventTypes.dumpFailed],
  // The exec WebSocket is a GET upgrade: authorized as `get pods/exec`, and from Kubernetes 1.35 also `create`.
  kubernetes: ['get pods', 'get pods/exec', 'create pods/exec'],
});
