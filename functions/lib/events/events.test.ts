import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { BadRequestError, PermanentError } from '../errors.ts';
import {
  createEventFactory,
  type EventType,
  EventTypes,
  isTraceparent,
  parseEvent,
  schemas,
} from './index.ts';
import { samples } from './samples.ts';

const allTypes = Object.keys(schemas) as EventType[];
const build = createEventFactory('test');

/** Serialises an event as the Broker would send it, then reads it back as faas-js-runtime does. */
function roundTrip(event: CloudEvent<unknown>, mode: 'binary' | 'structured') {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  return HTTP.toEvent({ headers: message.headers, body: message.body }) as CloudEvent<unknown>;
}

describe('event contract', () => {
  for (const type of allTypes) {
    for (const mode of ['binary', 'structured'] as const) {
      it(`${type} survives ${mode} mode and parses back to the same data`, () => {
        const event = build(type, samples[type] as never);
        const received = roundTrip(event, mode);
        const parsed = parseEvent(received, [type]);
        expect(parsed.type).toBe(type);
        expect(parsed.data).toEqual(event.data);
        expect(received.source).toBe('/heapdump/test');
        expect(received.datacontenttype).toBe('application/json');
      });
    }
  }

  it('rejects each type with invalid data, naming the field', () => {
    const broken: Partial<Record<EventType, [unknown, RegExp]>> = {
      [EventTypes.alertFiring]: [
        { ...samples[EventTypes.alertFiring], pod: '../etc/passwd' },
        /pod: must be/,
      ],
      [EventTypes.podUpdated]: [{ metadata: { name: 'x' } }, /metadata\.namespace|spec/],
      [EventTypes.dumpRequested]: [{ namespace: 'shop', pod: 'a;rm -rf /' }, /pod: must be/],
      [EventTypes.dumpApproved]: [{ ...samples[EventTypes.dumpApproved], mode: 'hot' }, /mode/],
      [EventTypes.dumpDeferred]: [{ ...samples[EventTypes.dumpDeferred], position: 0 }, /position/],
      [EventTypes.dumpSkipped]: [{ target: { namespace: 'shop', pod: 'p' }, reason: 'bored' }, /reason/],
      [EventTypes.dumpCaptured]: [
        { ...samples[EventTypes.dumpCaptured], files: [{ path: '/dumps/../../etc/shadow', bytes: 1 }] },
        /files\.0\.path/,
      ],
      [EventTypes.uploadProgressed]: [
        { ...samples[EventTypes.uploadProgressed], checkpoint: { offset: -1 } },
        /checkpoint/,
      ],
      [EventTypes.dumpUploaded]: [{ ...samples[EventTypes.dumpUploaded], sha256: 'xyz' }, /sha256/],
      [EventTypes.dumpFailed]: [{ ...samples[EventTypes.dumpFailed], stage: 'lunch' }, /stage/],
      [EventTypes.tokenReleased]: [{ pools: ['bath'], leaseIds: [] }, /pools\.0/],
    };
    for (const [type, [data, message]] of Object.entries(broken) as [EventType, [unknown, RegExp]][]) {
      const event = new CloudEvent({ type, source: '/x', id: '1', data });
      const attempt = () => parseEvent(event, [type]);
      expect(attempt, type).toThrow(PermanentError);
      expect(attempt, type).toThrow(message);
    }
  });

  it('refuses unknown and unaccepted types with 422, and non-JSON data with 400', () => {
    const unknown = new CloudEvent({ type: 'com.example.other', source: '/x', id: '1', data: {} });
    expect(() => parseEvent(unknown, [EventTypes.sweep])).toThrow(
      /unsupported event type "com.example.other"/,
    );
    const notAccepted = build(EventTypes.sweep, {});
    expect(() => parseEvent(notAccepted, [EventTypes.dumpApproved])).toThrow(PermanentError);
    const garbage = new CloudEvent({
      type: EventTypes.dumpRequested,
      source: '/x',
      id: '1',
      datacontenttype: 'text/plain',
      data: '{not json',
    });
    expect(() => parseEvent(garbage, [EventTypes.dumpRequested])).toThrow(BadRequestError);
  });

  it('rejects oversized names', () => {
    const event = new CloudEvent({
      type: EventTypes.dumpRequested,
      source: '/x',
      id: '1',
      data: { namespace: 'a'.repeat(10_000), pod: 'p' },
    });
    expect(() => parseEvent(event, [EventTypes.dumpRequested])).toThrow(
      /namespace: a namespace name has at most 63/,
    );
  });

  it('applies defaults when parsing', () => {
    const event = new CloudEvent({
      type: EventTypes.dumpRequested,
      source: '/curl',
      id: '1',
      data: { namespace: 'shop', pod: 'p' },
    });
    expect(parseEvent(event, [EventTypes.dumpRequested]).data).toEqual({
      namespace: 'shop',
      pod: 'p',
      reason: 'manual',
      force: false,
    });
  });
});

describe('constructors', () => {
  it('refuse to build an event with invalid data, naming the field', () => {
    expect(() =>
      build(EventTypes.dumpDeferred, { ...samples[EventTypes.dumpDeferred], dumpId: 'X' }),
    ).toThrow(/cannot build dev.heapdump.dump.deferred: dumpId/);
  });

  it('continue the trace of the cause with a new span, and carry dumpid and subject', () => {
    const cause = build(EventTypes.dumpApproved, samples[EventTypes.dumpApproved]);
    expect(isTraceparent(cause.traceparent)).toBe(true);
    const effect = build(EventTypes.dumpCaptured, samples[EventTypes.dumpCaptured], { cause });
    const [, causeTrace, causeSpan] = String(cause.traceparent).split('-');
    const [, effectTrace, effectSpan] = String(effect.traceparent).split('-');
    expect(effectTrace).toBe(causeTrace);
    expect(effectSpan).not.toBe(causeSpan);
    expect(effect.dumpid).toBe(samples[EventTypes.dumpApproved].dumpId);
    expect(effect.subject).toBe('shop/checkout-7d9f8-abcde/app');
  });

  it.each([
    ['tracestate', 'vendor=ok\r\nx-injected: 1'],
    ['tracestate', `a=${'x'.repeat(600)}`],
    ['tracestate', 'no equals sign'],
    ['dumpid', 'dump\nid'],
    ['dumpid', '../../etc/passwd'],
    ['subject', 'shop/pod/app\r\nx-injected: 1'],
  ])('drop a %s the cause carries that breaks its spec, with a warning, and copy a good one', (name, bad) => {
    const warnings: string[] = [];
    const factory = createEventFactory('test', { warn: (message) => warnings.push(message) });
    const cause = { ...build(EventTypes.sweep, {}).toJSON(), [name]: bad } as never;
    const effect = factory(EventTypes.tokenReleased, samples[EventTypes.tokenReleased], { cause });
    expect((effect as unknown as Record<string, unknown>)[name]).toBeUndefined();
    expect(warnings.join('\n')).toContain(name);

    const good = {
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
      dumpid: samples[EventTypes.dumpApproved].dumpId,
      subject: 'shop/api-1/app',
    };
    const fine = {
      ...build(EventTypes.sweep, {}).toJSON(),
      [name]: good[name as keyof typeof good],
    } as never;
    const copied = factory(EventTypes.tokenReleased, samples[EventTypes.tokenReleased], { cause: fine });
    expect((copied as unknown as Record<string, unknown>)[name]).toBe(good[name as keyof typeof good]);
  });

  it('prefer the traceparent of the HTTP header over the extension', () => {
    const cause = build(EventTypes.sweep, {});
    const header = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';
    const effect = build(EventTypes.tokenReleased, samples[EventTypes.tokenReleased], {
      cause,
      traceparent: header,
    });
    expect(String(effect.traceparent).split('-')[1]).toBe('0123456789abcdef0123456789abcdef');
  });

  it('give a reply a stable id derived from its cause, so a retried delivery replies the same event', () => {
    const cause = build(EventTypes.dumpApproved, samples[EventTypes.dumpApproved]);
    const a = build(EventTypes.dumpCaptured, samples[EventTypes.dumpCaptured], { cause });
    const b = build(EventTypes.dumpCaptured, samples[EventTypes.dumpCaptured], { cause });
    const other = build(EventTypes.dumpFailed, samples[EventTypes.dumpFailed], { cause });
    expect(a.id).toBe(b.id);
    expect(other.id).not.toBe(a.id);
  });

  it('take a given id as is (alert ids are fingerprint:startsAt) and use injected randomness otherwise', () => {
    let n = 0;
    const fixed = createEventFactory('alert-bridge', {
      random: { uuid: () => `uuid-${++n}`, hex: (bytes) => 'ab'.repeat(bytes) },
      clock: () => new Date('2026-11-23T10:00:00Z'),
    });
    const alert = fixed(EventTypes.alertFiring, samples[EventTypes.alertFiring], {
      id: 'fp:2026-11-23T10:14:30Z',
    });
    expect(alert.id).toBe('fp:2026-11-23T10:14:30Z');
    expect(alert.time).toBe('2026-11-23T10:00:00.000Z');
    expect(alert.traceparent).toBe(`00-${'ab'.repeat(16)}-${'ab'.repeat(8)}-01`);
    expect(fixed(EventTypes.sweep, {}).id).toBe('uuid-1');
  });
});
