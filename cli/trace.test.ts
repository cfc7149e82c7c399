import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTriggers, type RunningBroker, startBroker } from '../dev/broker/index.ts';
import { createEventFactory, EventTypes } from '../functions/lib/events/index.ts';
import { samples } from '../functions/lib/events/samples.ts';
import { postEvent, replyWith, type Services, startServices } from '../test/broker/services.ts';

const run = promisify(execFile);
const triggers = (type: string, name: string) => `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name}, namespace: heapdump }
spec:
  broker: default
  filter: { attributes: { type: ${type} } }
  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: ${name} } }
  delivery: { retry: 2, backoffPolicy: linear, backoffDelay: PT0.05S, timeout: PT5S }
`;

let services: Services;
let broker: RunningBroker;
const traceFile = join(mkdtempSync(join(tmpdir(), 'heapdump-trace-')), 'trace.jsonl');
const events = createEventFactory('test');
const approved = events(EventTypes.dumpApproved, samples[EventTypes.dumpApproved]);

beforeAll(async () => {
  services = await startServices({
    'exec-dump': (request) =>
      replyWith(events(EventTypes.dumpCaptured, samples[EventTypes.dumpCaptured], { cause: request.event! })),
    'upload-dump': (_request, count) => (count === 1 ? { status: 503, body: 'sftp down' } : { status: 204 }),
  });
  broker = await startBroker({
    triggers: await loadTriggers(
      `${triggers(EventTypes.dumpApproved, 'exec-dump')}---${triggers(EventTypes.dumpCaptured, 'upload-dump')}`,
    ),
    resolve: services.resolver(),
    traceFile,
  });
});
afterAll(async () => {
  await broker?.stop();
  await services?.close();
});

describe('heapdump trace', () => {
  it('draws the hops of one dump as a tree with statuses, retries and durations', async () => {
    await postEvent(broker.url, approved);
    await broker.idle();
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', 'trace', approved.dumpid as string],
      {
        env: { ...process.env, HEAPDUMP_ENV_FILE: '/nonexistent', HEAPDUMP_TRACE_FILE: traceFile },
      },
    );
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^└─ dev\.heapdump\.dump\.approved {2}\S+/);
    expect(stdout).toMatch(/├─ attempt #1 → exec-dump 200 \d+ms/);
    expect(stdout).toMatch(/└─ dev\.heapdump\.dump\.captured/);
    expect(stdout).toMatch(/attempt #1 → upload-dump 503 \d+ms/);
    expect(stdout).toMatch(/attempt #2 → upload-dump 204 \d+ms/);
    // The captured event hangs under the approved event that caused it.
    const capturedLine = lines.findIndex((l) => l.includes('dump.captured'));
    expect(lines[capturedLine]!.indexOf('└─')).toBeGreaterThan(lines[0]!.indexOf('└─'));
  });

  it('answers --json with the entries, and exit 1 for an unknown dump', async () => {
    const env = { ...process.env, HEAPDUMP_ENV_FILE: '/nonexistent', HEAPDUMP_TRACE_FILE: traceFile };
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', 'trace', approved.id, '--json'],
      {
        env,
      },
    );
    const entries = JSON.parse(stdout) as { kind: string }[];
    expect(entries.map((e) => e.kind)).toContain('reply');
    await expect(
      run(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'trace', 'dump-unknown1'], { env }),
    ).rejects.toMatchObject({ code: 1 });
  });
});
