import { describe, expect, it } from 'vitest';
import { chainEvent, ctx, deadLettered, target, useReleaseFixture } from '../../test/release/fixture.ts';
import { createEventFactory, EventTypes } from '../lib/events/index.ts';
import { samples } from '../lib/events/samples.ts';

const { state, releaseToken, acquire, live, tokenReleased } = useReleaseFixture();
const record = (dumpId: string) => state.store.records.getDump(dumpId);

describe('dead letters', () => {
  const stages = [
    { type: EventTypes.dumpApproved, from: 'decide-dump', stage: 'exec', fileKept: false },
    { type: EventTypes.dumpCaptured, from: 'exec-dump', stage: 'upload', fileKept: true },
    { type: EventTypes.uploadProgressed, from: 'upload-dump', stage: 'upload', fileKept: true },
  ] as const;

  it.each(stages)('$type gives its tokens back and the record says where and why', async (row) => {
    const held = await acquire();
    await releaseToken()(ctx, deadLettered(chainEvent(row.type, held, row.from), 503, 'redis unavailable'));

    expect(await live()).toEqual([]);
    const failed = await record(held.dumpId);
    expect(failed).toMatchObject({
      state: 'failed',
      fileKept: row.fileKept,
      error: { stage: row.stage, code: 'dead-letter' },
    });
    expect(failed?.error?.message).toContain(
      'http://exec-dump.heapdump.svc.cluster.local answered 503: redis unavailable',
    );
    if (row.fileKept) expect(failed?.files).toEqual(samples[EventTypes.dumpCaptured].files);
    expect(await state.store.switches.dumpedBy(target.uid, target.container)).toBeNull();
    expect(tokenReleased()).toHaveLength(1);
  });

  it('dump.uploaded, dead-lettered by release trouble, still records the stored dump and turns the switch off', async () => {
    const held = await acquire();
    await releaseToken()(ctx, deadLettered(chainEvent(EventTypes.dumpUploaded, held)));
    expect(await live()).toEqual([]);
    expect((await record(held.dumpId))?.state).toBe('uploaded');
    expect(await state.store.switches.dumpedBy(target.uid, target.container)).toBe(held.dumpId);
  });

  it('dump.failed, dead-lettered, keeps the original failure and notes the dead letter', async () => {
    const held = await acquire();
    await releaseToken()(ctx, deadLettered(chainEvent(EventTypes.dumpFailed, held), 500, 'boom'));
    expect(await live()).toEqual([]);
    const failed = await record(held.dumpId);
    expect(failed?.error).toMatchObject({ stage: 'upload', code: 'storage-unavailable' });
    expect(failed?.error?.message).toMatch(
      /^sftp: connection refused \(dead letter: .* answered 500: boom\)$/,
    );
  });

  it('dump.approved without knativeerror* extensions (a timed-out attempt) is still a dead letter', async () => {
    const held = await acquire();
    await releaseToken()(ctx, chainEvent(EventTypes.dumpApproved, held, 'decide-dump'));
    expect(await live()).toEqual([]);
    expect((await record(held.dumpId))?.error?.message).toContain('gave no answer in time');
  });

  it('with data that fails its schema still gives back the leases it names', async () => {
    const held = await acquire();
    const valid = chainEvent(EventTypes.dumpCaptured, held, 'exec-dump');
    const data = {
      dumpId: held.dumpId,
      leases: [...held.leases, { pool: 'dump', leaseId: 'x' }],
      files: 'no',
    };
    await releaseToken()(ctx, deadLettered(valid.cloneWith({ data }), 422));
    expect(await live()).toEqual([]);
    expect((await record(held.dumpId))?.error?.code).toBe('dead-letter');
  });

  it("of decide-dump's inputs carry nothing to give back and are acknowledged", async () => {
    const held = await acquire();
    const alert = createEventFactory('alert-bridge')(EventTypes.alertFiring, samples[EventTypes.alertFiring]);
    expect(await releaseToken()(ctx, deadLettered(alert, 422))).toBeUndefined();
    expect(await live()).toHaveLength(2);
    expect(state.sink.posted).toEqual([]);
    expect(await record(held.dumpId)).toBeNull();
  });
});
