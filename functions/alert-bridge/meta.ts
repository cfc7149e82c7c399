import { EventTypes } from '../lib/events/index.ts';
import { defineFunction } from '../lib/function-meta.ts';

/** A webhook receiver for Alertmanager, not a Trigger subscriber: it accepts no CloudEvents. */
export const meta = defineFunction({
  name: 'alert-bridge',
  accepts: [],
  emits: [EventTypes.alertFiring],
  kubernetes: [],
});
