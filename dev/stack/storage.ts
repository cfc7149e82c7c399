import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startAzureStorage } from './azure-storage.ts';
import { startSftpStorage } from './sftp-storage.ts';
import type { StorageKind } from './storage-kinds.ts';

/** Where upload-dump stores dumps in the dev stack, and the env that points it there. */
export interface StorageBackend {
  kind: StorageKind;
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

export { type StorageKind, storageKinds } from './storage-kinds.ts';

/**
 * The backend `heapdump dev --storage <kind>` asked for, started and ready: a directory (`dir`), a local
 * OpenSSH sshd running the project's SFTP server config, or Azurite keeping its data in `dir`.
 */
export async function startStorage(
  kind: StorageKind,
  options: { dir: string; projectRoot: string },
): Promise<StorageBackend> {
  switch (kind) {
    case 'file':
      return fileStorage(options.dir);
    case 'sftp':
      return startSftpStorage(options.projectRoot);
    case 'azure':
      return startAzureStorage(options.dir);
  }
}
