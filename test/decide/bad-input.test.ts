import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventTypes } from '../../functions/lib/events/index.ts';
import { samples } from '../../functions/lib/events/samples.ts';
import { alertFor, incoming, manualRequest } from './fixtures.ts';
import { type DecideServer, type DecideStack, sleepingPod, startDecideStack } from './stack.ts';

let stack: DecideStack;
let decide: DecideServer;
beforeAll(async () => {
  stack = await startDecideStack({ pods: sleepingPod('shop', 'app-1') });
  decide = await stack.decideDump();
});
afterAll(() => stack?.stop());

const binaryHeaders = {
  'content-type': 'application/json',
  'ce-specversion': '1.0',
  'ce-id': 'bad-1',
  'ce-source': '/test',
  'ce-type': EventTypes.dumpRequested,
};
const validRequest = JSON.stringify({ namespace: 'shop', pod: 'app-1' });

describe('decide-dump refuses bad input over HTTP and writes nothing to Redis', () => {
  it.each([
    ['binary without ce-source', { ...binaryHeaders, 'ce-source': '' }, validRequest, /source/],
    [
      'binary without ce-id (a plain POST)',
      { 'content-type': 'application/json', 'ce-type': EventTypes.dumpRequested },
      validRequest,
      /not a CloudEvent: missing headers ce-specversion, ce-id, ce-source/,
    ],
    ['binary with data that is not JSON', binaryHeaders, '{"namespace":', /JSON/],
    [
      'structured that is not JSON',
      { 'content-type': 'application/cloudevents+json' },
      '{"specversion":"1.0",',
      /structured-mode body must be a JSON object/,
    ],
    [
      'structured without a type',
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify({ specversion: '1.0', id: 'x', source: '/test', data: {} }),
      /type/,
    ],
  ])('400 for a malformed CloudEvent: %s', async (_case, headers, body, message) => {
    const answer = await decide.post(body, headers);
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(message);
  });

  it.each([
    ['an unknown type', incoming('com.example.unknown', {}), /unsupported event type "com.example.unknown"/],
    [
      'a type decide-dump does not take',
      incoming(EventTypes.dumpApproved, samples[EventTypes.dumpApproved]),
      /unsupported event type "dev.heapdump.dump.approved"; this function accepts dev.heapdump.alert.firing/,
    ],
    [
      'path traversal in the namespace',
      manualRequest('../../etc', 'app-1'),
      /namespace: must be a DNS-1123 label/,
    ],
    [
      'path traversal in the pod',
      alertFor('shop', '../../../etc/passwd'),
      /pod: must be a DNS-1123 subdomain/,
    ],
    ['shell metacharacters', manualRequest('shop', 'app-1;rm -rf /'), /pod: must be a DNS-1123 subdomain/],
    ['a container named $(reboot)', manualRequest('shop', 'app-1', { container: '$(reboot)' }), /container:/],
    [
      'a 10 kB pod name',
      manualRequest('shop', 'a'.repeat(10_240)),
      /pod: a pod name has at most 253 characters/,
    ],
    ['a 10 kB reason', manualRequest('shop', 'app-1', { reason: 'r'.repeat(10_240) }), /reason:/],
    ['a pod update without a uid', incoming(EventTypes.podUpdated, { metadata: { name: 'x' } }), /metadata/],
    ['an event id of 600 characters', incoming(EventTypes.sweep, {}, { id: 'i'.repeat(600) }), /event id/],
  ])('422 for %s, in both modes', async (_case, event, message) => {
    for (const mode of ['binary', 'structured'] as const) {
      const answer = await decide.send(event, mode);
      expect(answer.status, mode).toBe(422);
      expect(answer.text, mode).toMatch(message);
    }
  });

  it('413 for a body over the limit', async () => {
    const answer = await decide.post(JSON.stringify({ padding: 'x'.repeat(2 << 20) }), binaryHeaders);
    expect(answer.status).toBe(413);
    expect(answer.text).toMatch(/Request body is too large/);
  });

  it('left no key under its prefix', async () => {
    expect(await decide.keys()).toEqual([]);
    // The control: a valid request through the same server does write.
    expect((await decide.send(manualRequest('shop', 'app-1'))).status).toBe(200);
    expect((await decide.keys()).length).toBeGreaterThan(0);
  });
});
