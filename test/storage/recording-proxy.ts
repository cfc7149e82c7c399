import { createHash } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';

export interface StagedBlock {
  blob: string;
  blockId: string;
  bytes: number;
  /** The Content-MD5 header the client sent (base64), and the md5 of the body as it arrived. */
  sentMd5: string | undefined;
  bodyMd5: string;
}

/**
 * An HTTP proxy in front of Azurite that records every Put Block (`comp=block`) it forwards, so a test can
 * see what the sink staged, how often, and with which checksum. It can also flip one bit of the next
 * staged block on the wire, as a flaky network would.
 */
export async function startRecordingProxy(targetPort: number) {
  const staged: StagedBlock[] = [];
  let corruptNextBlock = false;

  const server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const isBlock = incoming.method === 'PUT' && url.searchParams.get('comp') === 'block';
    const corrupt = isBlock && corruptNextBlock;
    if (corrupt) corruptNextBlock = false;
    const md5 = createHash('md5');
    let bytes = 0;
    const upstream = request(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        let data = chunk;
        if (corrupt && bytes === 0 && chunk.length > 0) {
          data = Buffer.from(chunk);
          data[0]! ^= 0x01;
        }
        md5.update(data);
        bytes += data.length;
        done(null, data);
      },
      flush(done) {
        if (isBlock) {
          staged.push({
            blob: decodeURIComponent(url.pathname),
            blockId: url.searchParams.get('blockid') ?? '',
            bytes,
            sentMd5: incoming.headers['content-md5'] as string | undefined,
            bodyMd5: md5.digest('base64'),
          });
        }
        done();
      },
    });
    incoming.pipe(tap).pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    staged,
    corruptNextBlock() {
      corruptNextBlock = true;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
