import { describe, expect, it } from 'vitest';
import { EventTypes, type Pod } from '../lib/events/index.ts';
import { samples } from '../lib/events/samples.ts';
import { planFrom } from './annotations.ts';
import { metadataOf } from './metadata.ts';

const terminated = (message: string) => ({
  exitCode: 1,
  reason: 'Error',
  message,
  startedAt: '2026-11-23T10:00:00Z',
  finishedAt: '2026-11-23T10:05:00Z',
});

function podEndedWith(message: string): Pod {
  return {
    metadata: { name: 'api-1', namespace: 'shop', uid: samples[EventTypes.dumpApproved].target.uid },
    spec: { containers: [{ name: 'app' }] },
    status: {
      containerStatuses: [
        { name: 'app', restartCount: 1, ready: true, lastState: { terminated: terminated(message) } },
      ],
    },
  } as unknown as Pod;
}

const metadata = (pod: Pod) =>
  metadataOf(pod, samples[EventTypes.dumpApproved], planFrom({}, 'live'), { files: [] } as never, {
    capturedAt: new Date('2026-11-23T10:06:00Z'),
    seconds: 1,
  });

describe('the .json beside a dump', () => {
  it('carries no credential a termination message may hold, and no message longer than 256 characters', () => {
    const message = `Caused by: login failed password=hunter2 token: abc.def Authorization: Bearer eyJhbGci ${'x'.repeat(1000)}`;
    const json = JSON.stringify(metadata(podEndedWith(message)));
    for (const secret of ['hunter2', 'abc.def', 'eyJhbGci']) expect(json).not.toContain(secret);
    expect(json).toContain('password=<redacted>');
    const stored = (metadata(podEndedWith(message)).lastTermination as { message: string }).message;
    expect(stored.length).toBeLessThanOrEqual(256);
  });

  it('keeps a plain message as it is', () => {
    const stored = metadata(podEndedWith('OutOfMemoryError: Java heap space')).lastTermination;
    expect(stored).toMatchObject({ message: 'OutOfMemoryError: Java heap space', exitCode: 1 });
  });
});
