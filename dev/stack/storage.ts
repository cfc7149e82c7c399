import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Where upload-dump stores dumps in the dev stack, and the env that points it there. */
export interface StorageBackend {
  kind: 'file' | 'sftp' | 'azure';
  /** Human-readable: a directory, an sftp:// or https:// URL. */
  location: string;
  /** upload-dump's storage variables. */
  env: Record<string, string>;
  /** For the file backend: the directory dumps land in. */
  dir?: string;
  stop(): Promise<void>;
}

/** The local default: a directory standing in for a mounted volume. */
export async function fileStorage(dir: string): Promise<StorageBackend> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  return {
    kind: 'file',
    location: root,
    dir: root,
    env: { HEAPDUMP_STORAGE: 'file', HEAPDUMP_FILE_ROOT: root },
    stop: async () => {},
  };
}

export const storageKinds = ['file'] as const;
export type StorageKind = (typeof storageKinds)[number];

/** The backend `heapdump dev --storage <kind>` asked for, started and ready. */
export async function startStorage(kind: StorageKind, options: { dir: string }): Promise<StorageBackend> {
  switch (kind) {
    case 'file':
      return fileStorage(options.dir);
  }
}
