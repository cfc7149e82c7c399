import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerClient } from '@azure/storage-blob';
import { afterEach, describe, expect, it } from 'vitest';
import { postAlerts, waitForDumps, waitForJvms } from '../../dev/stack/drive.ts';
import { projectRoot } from '../../dev/stack/index.ts';
import { type StorageBackend, type StorageKind, startStorage } from '../../dev/stack/storage.ts';
import { type E2eStack, jvmPod, startE2eStack } from './stack.ts';

const NS = 'e2e-store';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}, 60_000);

async function chainWith(kind: StorageKind) {
  const dir = await mkdtemp(join(tmpdir(), `heapdump-dev-${kind}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const storage: StorageBackend = await startStorage(kind, { dir, projectRoot });
  cleanups.push(() => storage.stop());
  const stack: E2eStack = await startE2eStack({ storage, pods: jvmPod(NS, 'app', 4, 32) });
  cleanups.push(() => stack.stop());
  await waitForJvms(stack, [{ namespace: NS, pod: 'app' }], { mainClass: 'Hog', timeoutMs: 90_000 });
  expect((await postAlerts(stack, [{ namespace: NS, pod: 'app' }])).status).toBe(200);
  const [record] = await waitForDumps(stack, () => true, { timeoutMs: 120_000 });
  return { record: record!, storage };
}

// `heapdump dev --storage sftp|azure`: the same chain against the other two backends, run locally.
describe('the dev stack’s storage backends', () => {
  it('sftp: the project’s sshd_config in a local sshd, chrooted; the dump lands in its /dumps', async () => {
    const { record, storage } = await chainWith('sftp');
    expect(record.state).toBe('uploaded');
    expect(record.location).toMatch(/^sftp:\/\/127\.0\.0\.1:\d+\/dumps\/e2e-store\/app\/app\//);
    const relative = new URL(record.location!).pathname.replace(/^\/dumps\//, '');
    expect(existsSync(join(storage.dir!, relative))).toBe(true);
  }, 240_000);

  it('azure: Azurite with the container created; the dump is a block blob there', async () => {
    const { record, storage } = await chainWith('azure');
    expect(record.state).toBe('uploaded');
    expect(record.location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/heapdumps\/e2e-store\//);
    const container = new ContainerClient(
      storage.env.AZURE_STORAGE_CONNECTION_STRING!,
      storage.env.AZURE_STORAGE_CONTAINER!,
    );
    const name = decodeURIComponent(new URL(record.location!).pathname.split('/heapdumps/')[1]!);
    const properties = await container.getBlockBlobClient(name).getProperties();
    expect(properties.contentLength).toBe(record.storedBytes);
  }, 240_000);
});
