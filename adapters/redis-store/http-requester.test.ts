import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors } from '@upstash/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpRequester } from './http-requester.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server | undefined;

async function serve(handler: Handler) {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    handler(req, body, res);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe('node:http requester', () => {
  it('posts the command with the token, decodes base64 results and carries the sync token', async () => {
    const seen: { auth?: string; encoding?: string; sync?: string; url?: string; body: string }[] = [];
    const url = await serve((req, body, res) => {
      seen.push({
        auth: req.headers.authorization,
        encoding: req.headers['upstash-encoding'] as string,
        sync: req.headers['upstash-sync-token'] as string,
        url: req.url,
        body,
      });
      res.writeHead(200, { 'upstash-sync-token': `t${seen.length}` });
      const pipeline = req.url === '/pipeline';
      res.end(
        JSON.stringify(
          pipeline ? [{ result: [b64('ä'), 3, null] }, { error: 'boom' }] : { result: b64('héllo') },
        ),
      );
    });
    const requester = createHttpRequester({ url: `${url}/`, token: 's3cret', retries: 0, backoff: () => 0 });

    expect(await requester.request({ body: ['get', 'k'] })).toEqual({ result: 'héllo' });
    expect(await requester.request({ path: ['pipeline'], body: [['mget', 'a', 'b', 'c'], ['x']] })).toEqual([
      { result: ['ä', 3, null] },
      { error: 'boom' },
    ]);
    expect(seen).toEqual([
      { auth: 'Bearer s3cret', encoding: 'base64', sync: '', url: '/', body: '["get","k"]' },
      {
        auth: 'Bearer s3cret',
        encoding: 'base64',
        sync: 't1',
        url: '/pipeline',
        body: '[["mget","a","b","c"],["x"]]',
      },
    ]);
  });

  it('answers an error status with an UpstashError naming the error and the command', async () => {
    const url = await serve((_req, _body, res) => {
      res.writeHead(400).end(JSON.stringify({ error: 'NOSCRIPT No matching script' }));
    });
    const requester = createHttpRequester({ url, token: 't', retries: 3, backoff: () => 0 });
    const failed = requester.request({ body: ['evalsha', 'abc', '0'] });
    await expect(failed).rejects.toBeInstanceOf(errors.UpstashError);
    await expect(failed).rejects.toThrow('NOSCRIPT No matching script, command was: ["evalsha","abc","0"]');
  });

  it('retries a network error with backoff, and gives up after the configured retries', async () => {
    let attempts = 0;
    const url = await serve((req, _body, res) => {
      attempts++;
      if (attempts <= 2) return req.socket.destroy();
      res.writeHead(200).end(JSON.stringify({ result: 'OK' }));
    });
    const backoffs: number[] = [];
    const patient = createHttpRequester({
      url,
      token: 't',
      retries: 2,
      backoff: (attempt) => {
        backoffs.push(attempt);
        return 1;
      },
    });
    expect(await patient.request({ body: ['set', 'k', 'v'] })).toEqual({ result: 'OK' });
    expect(attempts).toBe(3);
    expect(backoffs).toEqual([0, 1]);

    attempts = 0;
    const impatient = createHttpRequester({ url, token: 't', retries: 0, backoff: () => 0 });
    await expect(impatient.request({ body: ['set', 'k', 'v'] })).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(attempts).toBe(1);
  });

  it('gives up on a server that never answers after the timeout', async () => {
    let attempts = 0;
    const url = await serve(() => {
      attempts++;
    });
    const requester = createHttpRequester({ url, token: 't', retries: 1, backoff: () => 0, timeoutMs: 50 });
    await expect(requester.request({ body: ['get', 'k'] })).rejects.toThrow(/no answer from .* in 50 ms/);
    expect(attempts).toBe(2);
  });
});
