/**
 * upload-dump to Azure Blob Storage (Azurite), with the sink built from config as index.ts builds it:
 * a dump in three slices, resumed from Redis, committed as one block blob with its .json beside it.
 */
import { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/lib/config.ts';
import type { AnyCloudEvent } from '../../functions/lib/events/index.ts';
import { uploadDumpConfig } from '../../functions/upload-dump/config.ts';
import { sinkFromConfig } from '../../functions/upload-dump/sink.ts';
import { type Azurite, startAzurite } from '../helpers/azurite.ts';
import { rawSha256OfStored } from '../storage/upload-scenarios.ts';
import { onCommit } from './sink-hooks.ts';
import { dataOf, MiB, startUploadStack, steppedClock, type UploadStack } from './stack.ts';

const CONTAINER = 'heapdumps';
let stack: UploadStack;
let azurite: Azurite;
let container: ContainerClient;

beforeAll(async () => {
  [stack, azurite] = await Promise.all([startUploadStack(), startAzurite()]);
  container = new ContainerClient(azurite.connectionString, CONTAINER);
  await container.create();
});
afterAll(async () => {
  await azurite?.stop();
  await stack?.stop();
});

describe('upload-dump to Azure Blob Storage', () => {
  it('stores a dump in three slices as one block blob that gunzips to the dump, with its .json', async () => {
    const config = loadConfig(uploadDumpConfig, {
      ...stack.redis.env,
      HEAPDUMP_STORAGE: 'azure',
      AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      AZURE_STORAGE_CONTAINER: CONTAINER,
    });
    const dump = await stack.writeDump('orders', 'azure.hprof', 24 * MiB, 17);
    const clock = steppedClock();
    const stops = [0.3, 0.7];
    const sink = onCommit(await sinkFromConfig(config), (segment) => {
      if (stops.length && segment.rawOffset + segment.rawBytes >= stops[0]! * dump.bytes) {
        stops.shift();
        clock.advance(3_600_000);
      }
    });
    const { handle } = stack.uploadDump({
      sink,
      clock,
      layout: { prefix: 'team-a', gzipLevel: 1, segmentBytes: 4 * MiB },
    });

    let reply = await handle(stack.captured('orders', [dump]));
    const slices = [reply?.type];
    while (reply?.type === 'dev.heapdump.upload.progressed') {
      reply = await handle(reply as AnyCloudEvent);
      slices.push(reply?.type);
    }
    expect(slices).toHaveLength(3);
    const done = dataOf(reply, 'uploaded');
    expect(done.location).toMatchObject({ backend: 'azure' });
    const blobName = done.location.uri.split(`/${CONTAINER}/`)[1]!;
    expect(blobName).toMatch(/^team-a\/shop\/orders\/app\/\d{8}T\d{6}Z_dump-[\d-]+\.hprof\.gz$/);

    const blob = container.getBlockBlobClient(blobName);
    const download = await blob.download();
    expect(await rawSha256OfStored(download.readableStreamBody as never, true)).toBe(dump.sha256);
    expect((await blob.getProperties()).contentLength).toBe(done.storedBytes);
    const metadata = JSON.parse(
      (
        await container.getBlockBlobClient(blobName.replace(/\.hprof\.gz$/, '.json')).downloadToBuffer()
      ).toString(),
    );
    expect(metadata.stored).toMatchObject({
      sha256: done.sha256,
      rawSha256: dump.sha256,
      rawBytes: dump.bytes,
    });
    expect(metadata.stored.segments).toHaveLength(6);
  });
});
