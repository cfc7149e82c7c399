import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { describeZodError } from '../../functions/lib/errors.ts';
import type { Logger } from '../../functions/lib/log.ts';
import type { Authorizer, TokenGrant } from './auth.ts';
import { discoveryDocument } from './discovery.ts';
import { chooseSubprotocol, parseExecQuery, runExecSession } from './exec-session.ts';
import { PodManifest } from './manifests.ts';
import { createObjectRoutes } from './object-routes.ts';
import type { ObjectStore } from './object-store.ts';
import type { PodRegistry } from './pod-registry.ts';
import type { PodObject } from './pod-runtime.ts';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.ts';
import {
  badRequest,
  conflict,
  internalError,
  methodNotAllowed,
  notFound,
  pathNotFound,
  StatusError,
} from './status.ts';
import { type IncludeObject, podTable, wantsTable } from './table.ts';
import type { ServingCertificate } from './tls.ts';
import { serveWatch } from './watch.ts';

export interface PodController {
  create(manifest: PodManifest): Promise<PodObject>;
  delete(namespace: string, name: string): Promise<PodObject | undefined>;
}

export interface ApiServerOptions {
  registry: PodRegistry;
  pods: PodController;
  authorizer: Authorizer;
  /** Objects of other kinds (namespaces, secrets, RBAC, CRDs and their objects), served read-only. */
  objects: ObjectStore;
  execHighWaterMark: number;
  tls: ServingCertificate;
  log: Logger;
}

const namespacesPath = /^\/api\/v1\/namespaces(?:\/([^/]+))?$/;
const podsPath = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods(?:\/([^/]+)(?:\/(exec))?)?$/;
const maxBodyBytes = 1 << 20;

/**
 * The HTTP face of the emulator: discovery, pods (get, list, watch, create, delete) and pods/exec, the
 * stored objects (get, list) and SubjectAccessReview.
 */
export function createApiServer(options: ApiServerOptions): Server {
  const { registry, authorizer, objects, log } = options;
  const objectRoutes = createObjectRoutes(objects, authorizer);
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => chooseSubprotocol(offered) ?? false,
  });

  const server = createServer({ ...options.tls }, (request, response) => {
    handle(request, response).catch((error) => {
      const status =
        error instanceof StatusError
          ? error.status
          : internalError((error as Error).message ?? String(error)).status;
      if (!(error instanceof StatusError)) log.error({ err: error, url: request.url }, 'request failed');
      if (response.headersSent) return void response.end();
      sendJson(response, status.code, status);
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://emulator');
    if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) return void response.end('ok');
    const grant = authorizer.authenticate(request.headers.authorization);
    const serverAddress = `${request.socket.localAddress}:${request.socket.localPort}`;
    const document = discoveryDocument(url.pathname, serverAddress, objects.types());
    if (url.pathname === '/openapi/v2' && /protobuf/.test(request.headers.accept ?? '')) {
      // kubectl asks for protobuf: an empty message is an empty OpenAPI document (no schemas to validate against).
      response.writeHead(200, {
        'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
      });
      return void response.end();
    }
    if (document && request.method === 'GET') return sendJson(response, 200, document);
    const method = request.method ?? 'GET';
    const namespacesMatch = namespacesPath.exec(url.pathname);
    if (namespacesMatch && method === 'GET') return serveNamespaces(grant, response, url, namespacesMatch[1]);
    const match = podsPath.exec(url.pathname);
    if (!match) {
      const answer = await objectRoutes({
        method,
        url,
        grant,
        accept: request.headers.accept,
        readJson: () => readJson(request),
      });
      if (!answer) throw pathNotFound();
      return sendJson(response, answer.code, answer.body);
    }
    const [, namespace, name, subresource] = match;
    if (subresource)
      throw badRequest('exec needs a WebSocket upgrade (subprotocol v5.channel.k8s.io or v4.channel.k8s.io)');
    if (name && namespace) {
      if (method === 'GET') {
        authorizer.authorize(grant, 'get', 'pods', namespace, name);
        const entry = registry.get(namespace, name);
        if (!entry) throw notFound('pods', name);
        return sendObject(request, response, url, [entry.object], entry.object);
      }
      if (method === 'DELETE') {
        authorizer.authorize(grant, 'delete', 'pods', namespace, name);
        const deleted = await options.pods.delete(namespace, name);
        if (!deleted) throw notFound('pods', name);
        return sendJson(response, 200, deleted);
      }
      throw methodNotAllowed(method);
    }
    if (name) throw pathNotFound();
    if (method === 'POST' && namespace) {
      authorizer.authorize(grant, 'create', 'pods', namespace);
      const manifest = PodManifest.safeParse(withNamespace(await readJson(request), namespace));
      if (!manifest.success) throw badRequest(`Pod is invalid: ${describeZodError(manifest.error)}`);
      if (registry.get(namespace, manifest.data.metadata.name))
        throw conflict('pods', manifest.data.metadata.name);
      return sendJson(response, 201, await options.pods.create(manifest.data));
    }
    if (method !== 'GET') throw methodNotAllowed(method);
    const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
    authorizer.authorize(grant, watch ? 'watch' : 'list', 'pods', namespace);
    const labels = parseSelector(() => parseLabelSelector(url.searchParams.get('labelSelector')));
    const fields = parseSelector(() => parseFieldSelector(url.searchParams.get('fieldSelector')));
    const matches = (pod: PodObject) =>
      (!namespace || pod.metadata.namespace === namespace) && labels(pod) && fields(pod);
    if (watch) {
      const timeout = url.searchParams.get('timeoutSeconds');
      return serveWatch(registry, request, response, {
        matches,
        resourceVersion: url.searchParams.get('resourceVersion'),
        timeoutSeconds: timeout === null ? undefined : Number(timeout),
        table: wantsTable(request.headers.accept) ? includeObjectOf(url) : undefined,
      });
    }
    const items = registry.list().filter(matches);
    const list = {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: registry.resourceVersion },
      items,
    };
    return sendObject(request, response, url, items, list);
  }

  /**
   * Namespaces exist as stored (with their labels) or as far as pods use them (plus `default`), read-only:
   * kubectl asks when a pod is missing.
   */
  function serveNamespaces(
    grant: TokenGrant,
    response: ServerResponse,
    url: URL,
    name: string | undefined,
  ): void {
    authorizer.authorize(grant, name ? 'get' : 'list', 'namespaces', undefined, name);
    const namespaceType = objects.typeOf('v1', 'Namespace')!;
    const stored = new Map(objects.list(namespaceType).map((object) => [object.metadata.name, object]));
    const used = ['default', ...registry.list().map((pod) => pod.metadata.namespace), ...stored.keys()];
    const names = [...new Set(used)].sort();
    const namespaceObject = (namespace: string) => {
      const object = stored.get(namespace);
      return {
        kind: 'Namespace',
        apiVersion: 'v1',
        ...object,
        metadata: {
          ...object?.metadata,
          name: namespace,
          labels: { ...object?.metadata.labels, 'kubernetes.io/metadata.name': namespace },
        },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      };
    };
    if (name && !names.includes(name)) throw notFound('namespaces', name);
    const labels = parseSelector(() => parseLabelSelector(url.searchParams.get('labelSelector')));
    const list = {
      kind: 'NamespaceList',
      apiVersion: 'v1',
      metadata: { resourceVersion: registry.resourceVersion },
    };
    const items = names.map(namespaceObject).filter((namespace) => labels(namespace as unknown as PodObject));
    sendJson(response, 200, name ? namespaceObject(name) : { ...list, items });
  }

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      const url = new URL(request.url ?? '/', 'http://emulator');
      const match = podsPath.exec(url.pathname);
      const [, namespace, name, subresource] = match ?? [];
      if (!namespace || !name || subresource !== 'exec') throw pathNotFound();
      const grant = authorizer.authenticate(request.headers.authorization);
      // A WebSocket exec is a GET, authorized as `get`; since Kubernetes 1.31 (AuthorizePodWebsocketUpgradeCreatePermission)
      // the API server also requires `create`, as for the POST that SPDY clients send.
      authorizer.authorize(grant, 'get', 'pods/exec', namespace, name);
      authorizer.authorize(grant, 'create', 'pods/exec', namespace, name);
      const entry = registry.get(namespace, name);
      if (!entry) throw notFound('pods', name);
      const runtime = entry.runtime;
      const exec = parseExecQuery(url.searchParams, name, [...runtime.runners.keys()]);
      if ((request.headers.upgrade ?? '').toLowerCase() !== 'websocket')
        throw badRequest(
          'the emulator serves exec over WebSocket only (v5.channel.k8s.io, v4.channel.k8s.io)',
        );
      const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!chooseSubprotocol(offered))
        throw badRequest(
          `unsupported subprotocols ${JSON.stringify(offered)}: want v5.channel.k8s.io or v4.channel.k8s.io`,
        );
      if (!runtime.runners.get(exec.container)?.running)
        throw badRequest(`container not found ("${exec.container}")`);
      wss.handleUpgrade(request, socket, head, (ws) => {
        log.debug({ namespace, pod: name, ...exec, protocol: ws.protocol }, 'exec');
        const child = runtime.exec(exec.container, exec.command, exec.stdin);
        if (child) return runExecSession(ws, child, exec, { highWaterMark: options.execHighWaterMark });
        const status = internalError(`container ${exec.container} stopped before the command started`).status;
        ws.send(Buffer.concat([Buffer.of(3), Buffer.from(JSON.stringify(status))]));
        ws.close(1000);
      });
    } catch (error) {
      const status = error instanceof StatusError ? error.status : internalError(String(error)).status;
      const body = JSON.stringify(status);
      socket.end(
        `HTTP/1.1 ${status.code} ${status.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
  });
  server.on('close', () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
  });
  return server;
}

function sendObject(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  pods: PodObject[],
  object: unknown,
) {
  if (!wantsTable(request.headers.accept)) return sendJson(response, 200, object);
  const resourceVersion = String(
    (object as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
  );
  sendJson(response, 200, podTable(pods, resourceVersion, includeObjectOf(url)));
}

function includeObjectOf(url: URL): IncludeObject {
  const value = url.searchParams.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

function parseSelector<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
}

function sendJson(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw badRequest(`request body exceeds ${maxBodyBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}

function withNamespace(body: unknown, namespace: string): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const metadata = (body as { metadata?: Record<string, unknown> }).metadata;
  if (metadata?.namespace && metadata.namespace !== namespace)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  return { ...body, metadata: { ...metadata, namespace } };
}
