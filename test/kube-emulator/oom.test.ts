import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Watch } from '@kubernetes/client-node';
import { type CloudEventV1, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventTypes, Pod } from '../../functions/lib/events/index.ts';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';

let emulator: TestKubeEmulator;
let sink: Server;
const received: CloudEventV1<unknown>[] = [];

beforeAll(async () => {
  sink = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(
        HTTP.toEvent({
          headers: request.headers,
          body: Buffer.concat(chunks).toString(),
        }) as CloudEventV1<unknown>,
      );
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  emulator = await startTestKubeEmulator({
    podsFile: 'test/fixtures/pods/oom.yaml',
    sink: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`,
    sinkSelector: 'heapdump.dev/enabled=true',
  });
});
afterAll(async () => {
  await emulator?.stop();
  sink?.close();
});

/** The container status that shows a restart with the reason of the end before it. */
const restarted = (pod: Pod | undefined) =>
  pod?.status?.containerStatuses?.find((status) => status.restartCount > 0 && status.lastState?.terminated);

describe('a JVM over its memory limit', () => {
  it('is OOMKilled and restarted; the watch and the ApiServerSource sink both see it', async () => {
    const watched: { type: string; pod: Pod }[] = [];
    const controller = await new Watch(emulator.kubeConfig()).watch(
      '/api/v1/namespaces/default/pods',
      { fieldSelector: 'metadata.name=hog' },
      (type, pod) => watched.push({ type, pod: pod as Pod }),
      () => {},
    );
    await expect.poll(() => watched.find((event) => restarted(event.pod)), { timeout: 30_000 }).toBeTruthy();
    controller.abort();
    const status = restarted(watched.find((event) => restarted(event.pod))!.pod)!;
    expect(status.lastState?.terminated).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    expect(status.restartCount).toBe(1);

    await emulator.flushSink();
    const update = received.find(
      (event) =>
        event.type === EventTypes.podUpdated &&
        restarted(Pod.parse(event.data) as Parameters<typeof restarted>[0]),
    );
    expect(update).toMatchObject({
      source: emulator.url,
      subject: '/apis/v1/namespaces/default/pods/hog',
      kind: 'Pod',
      apiversion: 'v1',
      name: 'hog',
      namespace: 'default',
      datacontenttype: 'application/json',
    });
    const pod = Pod.parse(update!.data);
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated?.reason).toBe('OOMKilled');
    // Only pods matching the sink's selector are announced; the crash-looping bystander is not.
    expect(received.every((event) => (event as { name?: string }).name === 'hog')).toBe(true);
  }, 45_000);

  it('announces pods added and deleted after the source started', async () => {
    const before = received.length;
    await emulator.addPods(
      'metadata: { name: newcomer, namespace: default, labels: { heapdump.dev/enabled: "true" } }\n' +
        'spec: { containers: [{ name: c, command: [sleep, infinity] }] }',
    );
    await emulator.deletePod('default', 'newcomer');
    await emulator.flushSink();
    const types = received
      .slice(before)
      .filter((event) => (event as { name?: string }).name === 'newcomer')
      .map((event) => event.type);
    expect(types[0]).toBe(EventTypes.podAdded);
    expect(types.at(-1)).toBe(EventTypes.podDeleted);
  });
});
