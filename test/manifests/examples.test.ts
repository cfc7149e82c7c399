/**
 * The curl examples of docs/deploy.md: each payload is valid for its event type, and
 * examples/send-event.sh, pointed at a Broker that routes by eventing/'s Triggers, delivers it to the
 * function that takes it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTriggers, type RunningBroker, startBroker } from '../../dev/broker/index.ts';
import { type EventType, EventTypes, schemas } from '../../functions/lib/events/index.ts';
import { startServices } from '../broker/services.ts';
import { functionNames, repoRoot } from './manifests.ts';

/** The entry points an operator can exercise by hand, one example payload each. */
const examples: [EventType, string][] = [
  [EventTypes.dumpRequested, 'dump-requested.json'],
  [EventTypes.alertFiring, 'alert-firing.json'],
  [EventTypes.podUpdated, 'pod-update.json'],
  [EventTypes.sweep, 'sweep.json'],
];

// Async: the Broker answering the script runs in this very process.
const run = promisify(execFile);
const read = (file: string): unknown => JSON.parse(readFileSync(join(repoRoot, 'examples', file), 'utf8'));

let broker: RunningBroker;
let services: Awaited<ReturnType<typeof startServices>>;
let triggers: Awaited<ReturnType<typeof loadTriggers>>;

beforeAll(async () => {
  triggers = await loadTriggers(join(repoRoot, 'eventing'));
  services = await startServices(
    Object.fromEntries(functionNames.map((name) => [name, () => ({ status: 204 })])),
  );
  broker = await startBroker({ triggers, broker: 'heapdump', resolve: services.resolver() });
});

afterAll(async () => {
  await broker?.stop();
  await services?.close();
});

describe.each(examples)('%s example (examples/%s)', (type, file) => {
  it('is valid data for its type', () => {
    const parsed = schemas[type].safeParse(read(file));
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it('reaches every function a Trigger routes it to, through send-event.sh', async () => {
    const subscribers = triggers.filter((t) => t.filter.type === type).map((t) => t.subscriber.ref?.name);
    expect(subscribers.length).toBeGreaterThan(0);
    const id = `example-${file}`;
    const { stdout: output } = await run(
      join(repoRoot, 'examples', 'send-event.sh'),
      [type, join(repoRoot, 'examples', file)],
      {
        env: { ...process.env, BROKER: broker.url, ID: id },
        timeout: 20_000,
      },
    );
    expect(output).toMatch(/HTTP\/1\.1 202/);
    await broker.idle();
    for (const subscriber of subscribers) {
      const delivered = services.of(subscriber ?? '').find((r) => r.event?.id === id);
      expect(delivered?.event?.type, subscriber).toBe(type);
      expect(JSON.parse(delivered?.body.toString() ?? 'null')).toEqual(read(file));
    }
  });
});

it('the Alertmanager webhook example names the container the alert is about', () => {
  const webhook = read('alertmanager-webhook.json') as { alerts: { labels: Record<string, string> }[] };
  const alert = read('alert-firing.json') as { labels: Record<string, string> };
  expect(webhook.alerts[0]?.labels).toEqual(alert.labels);
});
