import { createReadStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageSink } from '../../adapters/storage/types.ts';
import { sha256Of } from '../storage/dump-data.ts';
import { rawSha256OfStored } from '../storage/upload-scenarios.ts';

/** Every file below `dir`, relative to it. */
export function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/** A file sink location (`file:///...`) as a path. */
export const pathOfFileUri = (uri: string) => uri.slice('file://'.length);

/** sha256 of the stored object as it is, and of what it holds once gunzipped. */
export async function storedDigests(path: string): Promise<{ sha256: string; rawSha256: string }> {
  return {
    sha256: await sha256Of(createReadStream(path)),
    rawSha256: await rawSha256OfStored(createReadStream(path), path.endsWith('.gz')),
  };
}

/** The same, read through a sink (SFTP in the tests). */
export async function storedDigestsIn(sink: StorageSink, name: string) {
  return {
    sha256: await sha256Of(sink.read(name)),
    rawSha256: await rawSha256OfStored(sink.read(name), name.endsWith('.gz')),
  };
}
