import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { freePort, waitForPort } from '../../dev/free-port.ts';

export interface Azurite {
  /** A connection string for Azurite's well-known development account. */
  connectionString: string;
  blobEndpoint: string;
  port: number;
  accountName: string;
  accountKey: string;
  stop(): Promise<void>;
}

// Azurite's fixed development credentials (documented publicly; not a secret).
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Starts azurite-blob from node_modules on a free loopback port, storing in memory (nothing left on disk). */
export async function startAzurite(): Promise<Azurite> {
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js');
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--loose',
      '--silent',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`azurite exited with ${code}: ${stderr.trim()}`))),
  );
  exited.catch(() => {});
  await Promise.race([waitForPort('127.0.0.1', port, 30_000), exited]);

  const blobEndpoint = `http://127.0.0.1:${port}/${ACCOUNT}`;
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${blobEndpoint};`,
    blobEndpoint,
    port,
    accountName: ACCOUNT,
    accountKey: KEY,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await gone;
      }
    },
  };
}
