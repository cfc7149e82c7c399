import { expect } from 'vitest';
import type { StorageSink } from '../../adapters/storage/types.ts';

/** Names that would leave a sink's root or prefix if they reached a path or URL as they are. */
export const ESCAPING_NAMES = [
  '../escape.hprof',
  '/etc/passwd',
  'a/../../b.hprof',
  'a/./b',
  'a//b',
  'a\\..\\b',
  '.hidden/x',
  '%2e%2e/x',
  'a/b\u0000.hprof',
  '',
];

/** Every operation of the sink refuses each escaping name as a permanent failure (422), before any I/O. */
export async function expectEscapingNamesRefused(sink: StorageSink): Promise<void> {
  for (const name of ESCAPING_NAMES) {
    await expect(sink.openUpload(name, []), name).rejects.toMatchObject({ code: 422 });
    await expect(sink.putJson(name, {}), name).rejects.toMatchObject({ code: 422 });
    await expect(sink.stat(name), name).rejects.toMatchObject({ code: 422 });
    expect(() => sink.read(name), name).toThrow(/invalid object name/);
  }
}
