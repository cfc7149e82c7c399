import { describe, expect, it } from 'vitest';
import { dumpObjectName, metadataNameOf, objectNameSegments } from '../../adapters/storage/object-name.ts';
import { httpStatusOf } from '../../functions/lib/errors.ts';

const valid = {
  prefix: 'team-a/heapdumps',
  namespace: 'shop',
  pod: 'checkout-7d9f.x',
  container: 'app',
  capturedAt: new Date('2025-01-31T23:59:59.123Z'),
  dumpId: '0b7e6c1a-2f4d-4a8e-9c3b-5d6e7f8a9b0c',
  gzip: true,
};

describe('object names built from events', () => {
  it('lay a dump out as <prefix>/<namespace>/<pod>/<container>/<timestamp>_<dumpId>.hprof.gz', () => {
    const name = dumpObjectName(valid);
    expect(name).toBe(`team-a/heapdumps/shop/checkout-7d9f.x/app/20250131T235959Z_${valid.dumpId}.hprof.gz`);
    expect(metadataNameOf(name)).toBe(
      `team-a/heapdumps/shop/checkout-7d9f.x/app/20250131T235959Z_${valid.dumpId}.json`,
    );
  });

  it('refuse any event field that could leave the prefix, as a permanent failure', () => {
    const hostile = ['..', '../..', 'a/b', '/etc', '.', '%2e%2e', 'a\\b', 'UPPER', '', 'x'.repeat(300)];
    for (const field of ['namespace', 'pod', 'container', 'dumpId'] as const) {
      for (const value of hostile) {
        let caught: unknown;
        try {
          dumpObjectName({ ...valid, [field]: value });
        } catch (error) {
          caught = error;
        }
        expect(caught, `${field}=${value}`).toBeDefined();
        expect(httpStatusOf(caught), `${field}=${value}`).toBe(422);
      }
    }
    for (const prefix of ['../x', '/abs', 'a/../b', 'a//b']) {
      expect(() => dumpObjectName({ ...valid, prefix }), prefix).toThrow(/invalid object name/);
    }
  });

  it('split only into plain segments', () => {
    expect(objectNameSegments('a/b.c/d_e-f')).toEqual(['a', 'b.c', 'd_e-f']);
    expect(() => objectNameSegments('a/../b')).toThrow(/invalid object name/);
  });
});
