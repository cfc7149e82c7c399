/**
 * exec-dump as Knative runs it: faas-js-runtime in its own process with its own kubeconfig (the function's
 * least-privilege token) and Redis for the dump record, reached over HTTP. The statuses are the retry
 * contract: 200 with the reply event, 422 for a pod whose annotations must be fixed, 503 without an API server.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventTypes, traceIdOf } from '../../functions/lib/events/index.ts';
import { postEvent } from '../broker/services.ts';
import { type FunctionServer, startFunctionServer } from '../helpers/function-server.ts';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import { approvedInStore, type Captured, volumeFiles } from './fixture.ts';

const prefix = `exec-http-${process.pid}:`;
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
let redis: TestRedis;
let emulator: TestKubeEmulator;
let fn: FunctionServer;
let noApiServer: FunctionServer;

beforeAll(async () => {
  [redis, emulator] = await Promise.all([
    startTestRedis(),
    startTestKubeEmulator({
      pods: `
metadata: { name: jvm, namespace: dumps }
spec:
  containers:
    - name: app
      command: [java, -Xmx64m, -cp, test/fixtures/java, Hog, "4", "3600000"]
      volumeMounts: [{ name: dumps, mountPath: /dumps }]
  volumes: [{ name: dumps, emptyDir: {} }]
---
metadata: { name: bad-dir, namespace: dumps, annotations: { heapdump.dev/dump-dir: /dumps/../../etc } }
spec: { containers: [{ name: app, command: [sleep, infinity] }] }
`,
    }),
  ]);
  const env = {
    ...redis.env,
    HEAPDUMP_KEY_PREFIX: prefix,
    HEAPDUMP_SETTLE_SECONDS: '0.3',
  };
  const downKubeconfig = join(emulator.kubeconfigPath, '..', 'down.kubeconfig');
  await writeFile(
    downKubeconfig,
    emulator.kubeconfigFor('exec-dump').replace(emulator.url, 'https://127.0.0.1:1'),
  );
  [fn, noApiServer] = await Promise.all([
    startFunctionServer('exec-dump', {
      env: { ...env, KUBECONFIG: await emulator.kubeconfigFile('exec-dump') },
    }),
    startFunctionServer('exec-dump', { env: { ...env, KUBECONFIG: downKubeconfig } }),
  ]);
});
afterAll(async () => {
  await Promise.all([fn?.stop(), noApiServer?.stop()]);
  await Promise.all([emulator?.stop(), redis?.stop()]);
});

/** The functions' store, where the test grants each approval's leases as decide-dump would. */
const grants = () => redis.store({ prefix, pools: { dump: { capacity: 100 }, upload: { capacity: 100 } } });

async function send(server: FunctionServer, event: CloudEvent<unknown>) {
  const response = await postEvent(server.url, event, { headers: { traceparent } });
  const text = await response.text();
  const headers = Object.fromEntries(response.headers);
  const reply = headers['ce-id'] ? (HTTP.toEvent({ headers, body: text }) as CloudEvent<unknown>) : undefined;
  return { status: response.status, text, reply };
}

describe('exec-dump over HTTP', () => {
  it('answers dump.approved with dump.captured on the same trace, and records the capture', async () => {
    const approved = await approvedInStore(grants(), emulator, 'dumps', 'jvm');
    const dumpId = approved.data!.dumpId;
    await expect
      .poll(async () => (await send(fn, approved)).reply?.type, { timeout: 30_000, interval: 500 })
      .toBe(EventTypes.dumpCaptured);
    // The poll may have answered more than once: every answer is the same file (the retry finds it).
    const { status, reply } = await send(fn, approved);
    expect(status).toBe(200);
    expect(reply).toMatchObject({
      type: EventTypes.dumpCaptured,
      source: '/heapdump/exec-dump',
      dumpid: dumpId,
    });
    expect(traceIdOf(reply?.traceparent as string)).toBe(traceIdOf(traceparent));
    const data = reply?.data as Captured;
    const onHost = await volumeFiles(emulator, 'dumps', 'jvm');
    expect(onHost.map((f) => ({ path: `/dumps/${f.name}`, bytes: f.bytes }))).toEqual(data.files);
    const record = await redis.store({ prefix }).records.getDump(dumpId);
    expect(record).toMatchObject({ state: 'captured', files: data.files, rawBytes: data.files[0]!.bytes });
    await grants().pools.release(approved.data!.leases); // as release-token would: the container is free again
  });

  it('answers 422 (not retried) for annotations that try to leave the dump dir', async () => {
    const { status, text } = await send(fn, await approvedInStore(grants(), emulator, 'dumps', 'bad-dir'));
    expect(status).toBe(422);
    expect(text).toContain('heapdump.dev/dump-dir');
  });

  it('answers 503 (retried) when the API server cannot be reached', async () => {
    const { status, text } = await send(
      noApiServer,
      await approvedInStore(grants(), emulator, 'dumps', 'jvm'),
    );
    expect(status).toBe(503);
    expect(text).toContain('unreachable');
  });
});
