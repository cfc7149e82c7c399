import { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadCheckpoint } from '../../adapters/pipeline/checkpoint.ts';
import { uploadStream } from '../../adapters/pipeline/upload.ts';
import { type AzureSinkConfig, createAzureSink } from '../../adapters/storage/azure-sink.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import { type Azurite, startAzurite } from '../helpers/azurite.ts';
import { expectEscapingNamesRefused } from './confinement.ts';
import { seededData } from './dump-data.ts';
import { startRecordingProxy } from './recording-proxy.ts';
import {
  crashAndResume,
  MiB,
  rawSha256OfStored,
  sourceSha256,
  uploadInSlices,
  uploadWhole,
} from './upload-scenarios.ts';

const CONTAINER = 'heapdumps';
const PREFIX = 'dumps';
let azurite: Azurite;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
let container: ContainerClient;
let sink: StorageSink;

/** The sink talks to Azurite through the recording proxy. */
function sinkWith(overrides: Partial<AzureSinkConfig> = {}): StorageSink {
  return createAzureSink({
    connectionString: azurite.connectionString.replace(
      `127.0.0.1:${azurite.port}`,
      `127.0.0.1:${proxy.port}`,
    ),
    container: CONTAINER,
    prefix: PREFIX,
    ...overrides,
  });
}

beforeAll(async () => {
  azurite = await startAzurite();
  proxy = await startRecordingProxy(azurite.port);
  container = new ContainerClient(azurite.connectionString, CONTAINER);
  await container.create();
  sink = sinkWith();
});
afterAll(async () => {
  await proxy?.stop();
  await azurite?.stop();
});

const decodeId = (id: string) => Buffer.from(id, 'base64').toString();
const stagedFor = (name: string) =>
  proxy.staged.filter((block) => block.blob.endsWith(`/${CONTAINER}/${PREFIX}/${name}`));
const timesStaged = (name: string) => {
  const counts = new Map<string, number>();
  for (const block of stagedFor(name))
    counts.set(decodeId(block.blockId), (counts.get(decodeId(block.blockId)) ?? 0) + 1);
  return counts;
};

/** The committed block list holds every staged block once, in upload order, adding up to the object. */
async function expectCommittedBlocks(name: string, storedBytes: number): Promise<void> {
  const list = await container.getBlockBlobClient(`${PREFIX}/${name}`).getBlockList('all');
  const committed = (list.committedBlocks ?? []).map((block) => decodeId(block.name));
  expect(committed).toEqual([...timesStaged(name).keys()].sort());
  expect((list.committedBlocks ?? []).reduce((sum, block) => sum + block.size, 0)).toBe(storedBytes);
  expect(list.uncommittedBlocks ?? []).toEqual([]);
}

async function blobNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat()) names.push(blob.name);
  return names.sort();
}

describe('azure sink against Azurite', () => {
  it('stores 1 GiB as staged blocks, each with its MD5, committed into a blob that decompresses to the source', async () => {
    const name = 'ns/pod/app/20250101T000000Z_whole.hprof.gz';
    const summary = await uploadWhole({ sink, name, sizeBytes: 1024 * MiB, seed: 21 });

    expect(summary.location).toBe(
      `http://127.0.0.1:${proxy.port}/${azurite.accountName}/${CONTAINER}/${PREFIX}/${name}`,
    );
    const staged = stagedFor(name);
    expect(staged.length).toBeGreaterThan(100);
    for (const block of staged) expect(block.sentMd5).toBe(block.bodyMd5);
    expect([...timesStaged(name).values()].every((count) => count === 1)).toBe(true);
    await expectCommittedBlocks(name, summary.storedBytes);

    const metadata = JSON.parse(
      (
        await container
          .getBlockBlobClient(`${PREFIX}/ns/pod/app/20250101T000000Z_whole.json`)
          .downloadToBuffer()
      ).toString(),
    );
    expect(metadata.stored).toMatchObject({ sha256: summary.sha256, rawSha256: summary.rawSha256 });
  }, 600_000); // Azurite stores in JavaScript; on a busy 2-core machine this took up to ~200 s

  it('ends runs at 30 % and 70 %, resumes, and stages no block twice', async () => {
    const name = 'sliced/20250101T000000Z_sliced.hprof.gz';
    const summary = await uploadInSlices(
      { sink, name, sizeBytes: 256 * MiB, seed: 22, options: { segmentBytes: 16 * MiB } },
      [0.3, 0.7],
    );
    expect([...timesStaged(name).values()].every((count) => count === 1)).toBe(true);
    await expectCommittedBlocks(name, summary.storedBytes);
  }, 300_000);

  it('restages only the half-written segment after an instance dies, under the same block ids', async () => {
    const name = 'crash/20250101T000000Z_crash.hprof.gz';
    const summary = await crashAndResume(
      { sink, name, sizeBytes: 48 * MiB, seed: 23, options: { gzipLevel: null, segmentBytes: 8 * MiB } },
      30 * MiB,
    );
    const restaged = [...timesStaged(name)].filter(([, count]) => count > 1).map(([id]) => id);
    // 30 MiB in, segments 0-2 (24 MiB) were committed and a 4 MiB block of segment 3 was staged: only
    // blocks of segment 3 went twice.
    expect(restaged.length).toBeGreaterThan(0);
    expect(restaged.every((id) => id.startsWith('seg0000003-'))).toBe(true);
    await expectCommittedBlocks(name, summary.storedBytes);
  }, 120_000);

  it('fails with 503 when a block is damaged on the way (its MD5 no longer matches), and resumes', async () => {
    const name = 'damaged/20250101T000000Z_damaged.hprof';
    const sizeBytes = 24 * MiB;
    const options = {
      sink,
      name,
      openSource: (offset: number) => seededData(sizeBytes, 24, offset),
      totalRawBytes: sizeBytes,
      gzipLevel: null,
      segmentBytes: 8 * MiB,
      bytesPerSecond: null,
    };
    let checkpoint: UploadCheckpoint | undefined;
    const error = await uploadStream({
      ...options,
      onCheckpoint: (next) => {
        checkpoint = next;
        if (next.segments.length === 1) proxy.corruptNextBlock();
      },
    }).catch((caught) => caught);
    expect(error).toMatchObject({ code: 503 });
    expect(error.message).toMatch(/checksum did not match/);
    expect(checkpoint?.segments).toHaveLength(1);

    const outcome = await uploadStream({ ...options, checkpoint });
    if (!outcome.done) throw new Error('resumed upload stopped without a budget');
    expect(await rawSha256OfStored(sink.read(name), false)).toBe(await sourceSha256(sizeBytes, 24));
  }, 120_000);

  it('refuses bad credentials for good, saying what to check', async () => {
    const wrongKey = Buffer.alloc(64, 7).toString('base64');
    const badSink = sinkWith({
      connectionString: azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`),
    });
    const error = await uploadStream({
      sink: badSink,
      name: 'denied/20250101T000000Z_denied.hprof',
      openSource: () => seededData(MiB, 25),
      bytesPerSecond: null,
    }).catch((caught) => caught);
    expect(error).toMatchObject({ code: 422, kind: 'storage', reason: 'authentication' });
    expect(error.message).toMatch(/HTTP 403; check the account key, connection string or SAS token/);
  });

  it('keeps every name from an event inside the configured prefix', async () => {
    const before = await blobNames();
    await expectEscapingNamesRefused(sink);
    expect(() => sinkWith({ prefix: '../other' })).toThrow(/invalid object name/);
    expect(await blobNames()).toEqual(before);
    expect(before.every((blob) => blob.startsWith(`${PREFIX}/`))).toBe(true);
  });
});

describe('azure sink while Azurite is down', () => {
  it('fails with 503, so the Broker retries', async () => {
    const gone = await startAzurite();
    await new ContainerClient(gone.connectionString, CONTAINER).create();
    await gone.stop();
    const downSink = createAzureSink({
      connectionString: gone.connectionString,
      container: CONTAINER,
      maxTries: 1,
    });
    const upload = uploadStream({
      sink: downSink,
      name: 'down/20250101T000000Z_down.hprof',
      openSource: () => seededData(MiB, 26),
      bytesPerSecond: null,
    });
    await expect(upload).rejects.toMatchObject({ code: 503, message: expect.stringMatching(/unreachable/) });
    const committed = [
      {
        index: 0,
        rawOffset: 0,
        rawBytes: 1,
        storedOffset: 0,
        storedBytes: 1,
        chainStart: 0,
        rawSha256: '0'.repeat(64),
        storedSha256: '0'.repeat(64),
      },
    ];
    await expect(downSink.openUpload('down/x.hprof', committed)).rejects.toMatchObject({ code: 503 });
    await expect(downSink.putJson('down/x.json', {})).rejects.toMatchObject({ code: 503 });
  });
});
