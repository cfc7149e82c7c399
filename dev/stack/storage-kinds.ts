/** The storage backends `heapdump dev` can run; its own module so the CLI can list them without loading them. */
export const storageKinds = ['file', 'sftp', 'azure'] as const;
export type StorageKind = (typeof storageKinds)[number];
