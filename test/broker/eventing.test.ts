import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTriggers, type RunningBroker, startBroker, type Trigger } from '../../dev/broker/index.ts';
import { postEvent, type Services, startServices } from './services.ts';

const EVENTING = fileURLToPath(new URL('../../eventing', import.meta.url));

// The project's own eventing/, read as the cluster would; skipped until its kustomization exists.
describe.skipIf(!existsSync(join(EVENTING, 'kustomization.yaml')))(
  'the project’s eventing/ directory',
  () => {
    let triggers: Trigger[] = [];
    let services: Services;
    let broker: RunningBroker;

    beforeAll(async () => {
      triggers = await loadTriggers(EVENTING);
      services = await startServices({
        'decide-dump': () => ({ status: 422, body: 'pod demo/nope is not opted in' }),
        'release-token': () => ({ status: 204 }),
      });
      broker = await startBroker({ triggers, broker: 'heapdump', resolve: services.resolver() });
    });

    afterAll(async () => {
      await broker?.stop();
      await services?.close();
    });

    it('gives every Trigger a subscriber and a complete delivery block (DESIGN §10)', () => {
      expect(triggers.length).toBeGreaterThan(0);
      for (const t of triggers) {
        expect(t.delivery.deadLetterSink, t.name).toBeDefined();
        expect(t.delivery.backoffPolicy, t.name).toBeDefined();
        expect(t.delivery.timeoutMs, t.name).toBeGreaterThan(0);
      }
    });

    it('routes a dump request to decide-dump and dead-letters its 422 to release-token', async () => {
      const requested = new CloudEvent({
        type: 'dev.heapdump.dump.requested',
        source: '/heapdump/cli',
        data: { namespace: 'demo', pod: 'nope', reason: 'test' },
      });
      expect((await postEvent(broker.url, requested)).status).toBe(202);
      await broker.idle();
      expect(services.of('decide-dump').map((r) => r.event?.id)).toEqual([requested.id]);
      const [dead] = services.of('release-token');
      expect(dead?.event).toMatchObject({ id: requested.id, type: 'dev.heapdump.dump.requested' });
      expect(String(dead?.event?.knativeerrorcode)).toBe('422');
      expect(Buffer.from(String(dead?.event?.knativeerrordata), 'base64').toString()).toBe(
        'pod demo/nope is not opted in',
      );
    });
  },
);
