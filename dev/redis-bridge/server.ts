import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';

/**
 * A small HTTP server speaking the REST protocol `@upstash/redis` uses (the same as Upstash and
 * serverless-redis-http): `POST /` one command, `/pipeline` many, `/multi-exec` many in a transaction,
 * bearer token, `Upstash-Encoding: base64` results. It lets the real client talk to a local redis-server.
 */
export interface RedisBridgeOptions {
  redisUrl: string;
  token: string;
  host?: string;
  port?: number;
  maxBodyBytes?: number;
}

export interface RedisBridge {
  url: string;
  server: Server;
  close(): Promise<void>;
}

type Command = (string | number)[];
type Reply = { result: unknown } | { error: string };

class BridgeRequestError extends Error {}

/** ioredis reshapes some replies (HGETALL into an object); the REST protocol wants Redis' flat array. */
const asRedisReply = (value: unknown): unknown => {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value) || Array.isArray(value))
    return value;
  return Object.entries(value).flatMap(([field, v]) => [Buffer.from(field), v]);
};

const encodeAll = (value: unknown): unknown => {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(encodeAll);
  return value;
};

/** Upstash base64-encodes every string result except the status reply "OK". */
function encodeResult(reply: unknown, base64: boolean): unknown {
  const value = asRedisReply(reply);
  if (Buffer.isBuffer(value) && value.length === 2 && value.toString() === 'OK') return 'OK';
  if (!base64) return decodeAll(value);
  return encodeAll(value);
}

const decodeAll = (value: unknown): unknown => {
  if (Buffer.isBuffer(value)) return value.toString();
  if (Array.isArray(value)) return value.map(decodeAll);
  return value;
};

function parseCommand(value: unknown): Command {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((part) => typeof part === 'string' || typeof part === 'number')
  ) {
    throw new BridgeRequestError('a command is a non-empty JSON array of strings and numbers');
  }
  return value as Command;
}

function parseCommands(value: unknown): Command[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BridgeRequestError('a pipeline is a non-empty JSON array of commands');
  }
  return value.map(parseCommand);
}

async function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BridgeRequestError(`request body exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new BridgeRequestError('request body is not valid JSON');
  }
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function startRedisBridge(options: RedisBridgeOptions): Promise<RedisBridge> {
  const redis = new Redis(options.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
  });
  redis.on('error', () => {}); // surfaced per request; a down redis must not crash the bridge
  await redis.connect().catch(() => {});
  const expected = Buffer.from(`Bearer ${options.token}`);
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;

  const authorized = (req: IncomingMessage) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const run = async (command: Command): Promise<Reply> => {
    const [name, ...args] = command;
    try {
      return { result: await redis.callBuffer(String(name), ...args.map(String)) };
    } catch (error) {
      return { error: errorText(error) };
    }
  };

  const multiExec = async (commands: Command[]): Promise<Reply[]> => {
    const multi = redis.multi();
    for (const [name, ...args] of commands) multi.callBuffer(String(name), ...args.map(String));
    const results = (await multi.exec()) ?? [];
    return results.map(([error, result]) => (error ? { error: errorText(error) } : { result }));
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST') return send(res, 405, { error: 'only POST is supported' });
    if (!authorized(req)) return send(res, 401, { error: 'Unauthorized' });
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const encode = (reply: Reply) =>
      'error' in reply ? reply : { result: encodeResult(reply.result, base64) };
    const path = (req.url ?? '/').split('?')[0];
    try {
      const body = await readBody(req, maxBody);
      if (redis.status !== 'ready' && redis.status !== 'connect') {
        await redis.connect().catch(() => {});
      }
      if (path === '/' || path === '') {
        const reply = await run(parseCommand(body));
        return send(res, 'error' in reply ? 400 : 200, encode(reply));
      }
      if (path === '/pipeline') {
        const replies = await Promise.all(parseCommands(body).map(run));
        return send(res, 200, replies.map(encode));
      }
      if (path === '/multi-exec') {
        return send(res, 200, (await multiExec(parseCommands(body))).map(encode));
      }
      return send(res, 404, { error: `unknown path ${path}` });
    } catch (error) {
      if (error instanceof BridgeRequestError) return send(res, 400, { error: error.message });
      // redis-server unreachable: the client sees a 5xx and the function a TransientError.
      return send(res, 503, { error: `redis unavailable: ${errorText(error)}` });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => send(res, 500, { error: errorText(error) }));
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
