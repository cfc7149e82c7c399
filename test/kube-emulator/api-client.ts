import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';

/** Raw HTTPS and WebSocket access to the emulator, for what the real clients will not send (bad tokens, v4 only). */
export interface RawResponse {
  status: number;
  body: unknown;
}

export function rawRequest(
  url: string,
  ca: string,
  path: string,
  options: { token?: string; method?: string; body?: unknown } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      new URL(path, url),
      {
        method: options.method ?? 'GET',
        ca,
        headers: {
          ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
          ...(options.body ? { 'Content-Type': 'application/json' } : {}),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // keep the text
          }
          resolve({ status: response.statusCode ?? 0, body });
        });
      },
    );
    request.on('error', reject);
    request.end(options.body ? JSON.stringify(options.body) : undefined);
  });
}

export interface RawExecResult {
  protocol: string;
  channels: Record<number, Buffer>;
  status: { status: string; reason?: string; details?: { causes?: { reason: string; message: string }[] } };
}

/** An exec over a WebSocket offering exactly the given subprotocols; stdin is sent, then (v5) closed. */
export function rawExec(
  url: string,
  ca: string,
  token: string,
  path: string,
  protocols: string[],
  stdin?: string,
): Promise<RawExecResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^https/, 'wss')}${path}`, protocols, {
      ca,
      headers: { Authorization: `Bearer ${token}` },
    });
    const channels: Record<number, Buffer[]> = {};
    ws.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        reject(
          Object.assign(new Error(`HTTP ${response.statusCode}`), {
            status: response.statusCode,
            body: JSON.parse(Buffer.concat(chunks).toString()),
          }),
        ),
      );
    });
    ws.on('error', reject);
    ws.on('open', () => {
      if (stdin === undefined) return;
      ws.send(Buffer.concat([Buffer.of(0), Buffer.from(stdin)]));
      if (ws.protocol === 'v5.channel.k8s.io') ws.send(Buffer.of(255, 0));
    });
    ws.on('message', (data: Buffer) => {
      const channel = data[0]!;
      channels[channel] ??= [];
      channels[channel].push(data.subarray(1));
    });
    ws.on('close', () => {
      const joined = Object.fromEntries(
        Object.entries(channels).map(([k, v]) => [Number(k), Buffer.concat(v)]),
      );
      const status = joined[3] ? JSON.parse(joined[3].toString()) : undefined;
      resolve({ protocol: ws.protocol, channels: joined, status });
    });
  });
}

export function execPath(namespace: string, pod: string, query: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
  return `/api/v1/namespaces/${namespace}/pods/${pod}/exec?${params}`;
}
