/**
 * upload-dump as Knative runs it: faas-js-runtime in its own process, configured by env alone (SFTP, secrets
 * as files, KUBECONFIG with the function's own RBAC token), reached over HTTP in binary mode. The instance is
 * killed mid-upload (SIGKILL, as when its node is lost); a new instance answers the redelivered event by
 * resuming from the last checkpoint in Redis.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSftpSink } from '../../adapters/storage/sftp-sink.ts';
import type { StorageSink } from '../../adapters/storage/types.ts';
import type { AnyCloudEvent } from '../../functions/lib/events/index.ts';
import type { UploadState } from '../../functions/upload-dump/upload-state.ts';
import { type FunctionServer, startFunctionServer } from '../helpers/function-server.ts';
import { disposeSshd, type Sshd, sftpSinkConfig, sftpStorageEnv, startSshd } from '../helpers/sshd.ts';
import { dataOf, MiB, startUploadStack, type UploadStack } from './stack.ts';
import { filesBelow, storedDigestsIn } from './stored.ts';

const prefix = `upload-http-${process.pid}:`;
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
let stack: UploadStack;
let sshd: Sshd;
let sink: StorageSink;
let fn: FunctionServer | undefined;

async function startUploadDump(): Promise<FunctionServer> {
  return startFunctionServer('upload-dump', {
    env: {
      ...stack.redis.env,
      HEAPDUMP_KEY_PREFIX: prefix,
      KUBECONFIG: await stack.emulator.kubeconfigFile('upload-dump'),
      ...sftpStorageEnv(sshd),
      HEAPDUMP_STORAGE_PREFIX: 'heapdumps',
      UPLOAD_RATE_MBPS: '0',
      UPLOAD_SEGMENT_MIB: '8',
    },
  });
}

async function send(event: AnyCloudEvent) {
  const message = HTTP.binary(event as CloudEvent<unknown>);
  const response = await fetch(fn!.url, {
    method: 'POST',
    headers: { ...(message.headers as Record<string, string>), traceparent },
    body: message.body as string,
    signal: AbortSignal.timeout(120_000),
  });
  const body = await response.text();
  const headers = Object.fromEntries(response.headers);
  const reply = body ? (HTTP.toEvent({ headers, body }) as CloudEvent<unknown>) : undefined;
  return { status: response.status, reply };
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}

beforeAll(async () => {
  stack = await startUploadStack();
  sshd = await startSshd();
  sink = createSftpSink(sftpSinkConfig(sshd));
  fn = await startUploadDump();
});
afterAll(async () => {
  await fn?.stop();
  await sink?.close();
  if (sshd) await disposeSshd(sshd);
  await stack?.stop();
});

describe('upload-dump over HTTP (faas-js-runtime)', () => {
  it('killed mid-upload, a new instance resumes the redelivered event from the checkpoint', async () => {
    const dump = await stack.writeDump('orders', 'http.hprof', 96 * MiB, 13);
    const store = stack.redis.store({ prefix });
    const event = await stack.capturedInStore(store, 'orders', [dump]);
    const dumpId = (event.data as { dumpId: string }).dumpId;
    const committed = async () =>
      (await store.records.loadCheckpoint<UploadState>(dumpId))?.current?.segments.length ?? 0;

    const lost = send(event).then(
      () => 'answered',
      () => 'connection lost',
    );
    await until(async () => (await committed()) >= 3, 60_000);
    process.kill(fn!.pid, 'SIGKILL');
    expect(await lost).toBe('connection lost');
    const before = await committed();
    expect(before).toBeLessThan(12);

    fn = await startUploadDump();
    const { status, reply } = await send(event);
    expect(status).toBe(200);
    const done = dataOf(reply, 'uploaded');
    expect(reply?.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-/);
    expect(done).toMatchObject({ dumpId, rawBytes: dump.bytes, rawSha256: dump.sha256 });
    expect(done.location.uri).toMatch(
      /^sftp:\/\/127\.0\.0\.1:\d+\/.*\/heapdumps\/shop\/orders\/app\/.*\.hprof\.gz$/,
    );
    const name = done.location.uri.split(`${sshd.root}/`)[1]!;
    expect(await storedDigestsIn(sink, name)).toEqual({ sha256: done.sha256, rawSha256: dump.sha256 });
    expect(filesBelow(sshd.root).filter((file) => file.endsWith('.partial'))).toEqual([]);
    const metadata = JSON.parse(
      readFileSync(`${sshd.root}/${name.replace(/\.hprof\.gz$/, '.json')}`, 'utf8'),
    );
    expect(metadata.stored.segments).toHaveLength(12);
    expect(await store.records.getDump(dumpId)).toMatchObject({
      bytesDone: dump.bytes,
      bytesTotal: dump.bytes,
    });
  }, 150_000);
});
