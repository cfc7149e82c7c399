import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { type BlockBlobClient, ContainerClient, StorageRetryPolicyType } from '@azure/storage-blob';
import { PermanentError } from '../../functions/lib/errors.ts';
import { classifyStorageError, StorageError } from './errors.ts';
import { storedEnd } from './intact-segments.ts';
import { objectNameSegments } from './object-name.ts';
import type { SegmentRecord, SinkUpload, StorageSink } from './types.ts';

export interface AzureSinkConfig {
  /** Either an account connection string plus `container`... */
  connectionString?: string;
  container?: string;
  /** ...or a container URL carrying a SAS token (needs read, write, list on blobs). */
  containerSasUrl?: string;
  /** Blob name prefix inside the container (`heapdumps`), without a trailing slash. */
  prefix?: string;
  /** Stored bytes per staged block; several blocks make one segment. */
  blockBytes?: number;
  /** Blocks staged concurrently (each holds `blockBytes` of memory). */
  parallelBlocks?: number;
  /** Attempts per request, the SDK's own retry with backoff; after that a TransientError goes to the Broker. */
  maxTries?: number;
}

const DEFAULT_BLOCK = 4 * 1024 * 1024;

/**
 * Block ids must all have the same length within a blob. Deriving them from (segment, block) makes a
 * resumed upload re-stage exactly the blocks it staged before, which Azure treats as a replacement.
 */
function blockId(segment: number, block: number): string {
  return Buffer.from(`seg${String(segment).padStart(7, '0')}-blk${String(block).padStart(5, '0')}`).toString(
    'base64',
  );
}

function blockIdsOf(segment: SegmentRecord, blockBytes: number): string[] {
  const count = Math.max(1, Math.ceil(segment.storedBytes / blockBytes));
  return Array.from({ length: count }, (_, block) => blockId(segment.index, block));
}

function containerFrom(config: AzureSinkConfig): ContainerClient {
  const retryOptions = {
    retryPolicyType: StorageRetryPolicyType.EXPONENTIAL,
    maxTries: config.maxTries ?? 3,
  };
  if (config.containerSasUrl) return new ContainerClient(config.containerSasUrl, undefined, { retryOptions });
  if (config.connectionString && config.container) {
    return new ContainerClient(config.connectionString, config.container, { retryOptions });
  }
  throw new PermanentError('azure storage needs a connection string and a container, or a container SAS URL');
}

export function createAzureSink(config: AzureSinkConfig): StorageSink {
  if (config.prefix) objectNameSegments(config.prefix);
  const container = containerFrom(config);
  const blockBytes = config.blockBytes ?? DEFAULT_BLOCK;
  const parallelBlocks = config.parallelBlocks ?? 4;
  const blobNameOf = (name: string) => [config.prefix, ...objectNameSegments(name)].filter(Boolean).join('/');
  const blobOf = (name: string): BlockBlobClient => container.getBlockBlobClient(blobNameOf(name));
  const guard = async <T>(doing: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw classifyStorageError(error, doing);
    }
  };

  /** Leading committed segments whose blocks are all staged (uncommitted) with the expected total size. */
  async function intactOf(blob: BlockBlobClient, committed: readonly SegmentRecord[]): Promise<number> {
    if (committed.length === 0) return 0;
    const list = await blob.getBlockList('uncommitted').catch((error: { statusCode?: number }) => {
      if (error.statusCode === 404) return { uncommittedBlocks: [] };
      throw error;
    });
    const sizes = new Map((list.uncommittedBlocks ?? []).map((block) => [block.name, block.size]));
    let count = 0;
    for (const segment of committed) {
      const staged = blockIdsOf(segment, blockBytes).reduce(
        (sum, id) => sum + (sizes.get(id) ?? Number.NaN),
        0,
      );
      if (segment.index !== count || staged !== segment.storedBytes) break;
      count += 1;
    }
    return count;
  }

  async function openUpload(name: string, committed: readonly SegmentRecord[]): Promise<SinkUpload> {
    const blob = blobOf(name);
    const doing = (what: string) => `${what} ${blob.url.split('?')[0]}`;
    const intactSegments = await guard(doing('listing staged blocks of'), () => intactOf(blob, committed));
    let segment = intactSegments;
    let block = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const staging = new Set<Promise<void>>();
    let failure: unknown;

    const stage = async (data: Buffer) => {
      const id = blockId(segment, block++);
      const md5 = createHash('md5').update(data).digest();
      const staged = blob
        .stageBlock(id, data, data.length, { transactionalContentMD5: md5 })
        .then(() => undefined)
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => staging.delete(staged));
      staging.add(staged);
      while (staging.size >= parallelBlocks) await Promise.race(staging);
      if (failure) throw failure;
    };
    const flush = async (all: boolean) => {
      while (pendingBytes >= blockBytes || (all && (pendingBytes > 0 || block === 0))) {
        const data = Buffer.concat(pending, pendingBytes);
        const head = data.subarray(0, Math.min(blockBytes, data.length));
        pending = data.length > head.length ? [data.subarray(head.length)] : [];
        pendingBytes = data.length - head.length;
        await stage(head);
      }
    };
    const settle = async () => {
      await Promise.all(staging);
      if (failure) throw failure;
    };

    return {
      intactSegments,
      write: (chunk) =>
        guard(doing('staging a block of'), async () => {
          pending.push(chunk);
          pendingBytes += chunk.length;
          await flush(false);
        }),
      commitSegment: (record) =>
        guard(doing('staging a block of'), async () => {
          await flush(true);
          await settle();
          if (record.index !== segment)
            throw new StorageError('integrity', `segment ${record.index} out of order`);
          segment += 1;
          block = 0;
        }),
      complete: (segments) =>
        guard(doing('committing'), async () => {
          await settle();
          const ids = segments.flatMap((record) => blockIdsOf(record, blockBytes));
          await blob.commitBlockList(ids, {
            blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
          });
          const { contentLength } = await blob.getProperties();
          const expected = storedEnd(segments, segments.length);
          if (contentLength !== expected) {
            throw new StorageError(
              'integrity',
              `committed blob holds ${contentLength} bytes, expected ${expected}`,
            );
          }
        }),
      release: async () => {
        await Promise.allSettled(staging);
      },
    };
  }

  return {
    kind: 'azure',
    locationOf: (name) => blobOf(name).url.split('?')[0]!,
    openUpload,
    // async, so a name that fails validation rejects like any other failure instead of throwing
    putJson: async (name, value) =>
      guard(`writing ${blobNameOf(name)}`, async () => {
        const body = `${JSON.stringify(value, null, 2)}\n`;
        await blobOf(name).upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
      }),
    stat: async (name) =>
      guard(`checking ${blobNameOf(name)}`, async () => {
        try {
          const { contentLength } = await blobOf(name).getProperties();
          return { size: contentLength ?? 0 };
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode === 404) return undefined;
          throw error;
        }
      }),
    read(name): Readable {
      const blob = blobOf(name);
      async function* chunks(): AsyncGenerator<Buffer> {
        const response = await guard(`reading ${blobNameOf(name)}`, () => blob.download());
        for await (const chunk of response.readableStreamBody as AsyncIterable<Buffer>) yield chunk;
      }
      return Readable.from(chunks(), { objectMode: false });
    },
    async close() {},
  };
}
