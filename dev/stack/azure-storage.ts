import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ContainerClient } from '@azure/storage-blob';
import { freePort, waitForPort } from '../free-port.ts';
import type { StorageBackend } from './storage.ts';

// Azurite's well-known development account (public in Azure's documentation; not a secret).
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const CONTAINER = 'heapdumps';

/**
 * Azure Blob Storage on loopback: Azurite's blob service from node_modules, keeping its data in `dir` so
 * the dumps outlive the stack; the container is created when missing.
 */
export async function startAzureStorage(dir: string): Promise<StorageBackend> {
  await mkdir(dir, { recursive: true });
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js');
  const port = await freePort();
  const azurite = spawn(
    process.execPath,
    [
      ...[main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dir],
      ...['--skipApiVersionCheck', '--loose', '--silent', '--disableTelemetry'],
    ],
    { stdio: 'ignore' },
  );
  const exited = once(azurite, 'exit');
  const stop = async () => {
    if (azurite.exitCode !== null) return;
    azurite.kill('SIGTERM');
    await exited;
  };
  try {
    await Promise.race([
      waitForPort('127.0.0.1', port, 30_000),
      exited.then(([code]) => Promise.reject(new Error(`azurite exited with ${code}`))),
    ]);
    const endpoint = `http://127.0.0.1:${port}/${ACCOUNT}`;
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${endpoint};`;
    await new ContainerClient(connectionString, CONTAINER).createIfNotExists();
    return {
      kind: 'azure',
      location: `${endpoint}/${CONTAINER} (Azurite, data in ${dir})`,
      env: {
        HEAPDUMP_STORAGE: 'azure',
        AZURE_STORAGE_CONNECTION_STRING: connectionString,
        AZURE_STORAGE_CONTAINER: CONTAINER,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
