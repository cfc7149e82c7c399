/**
 * exec-dump against real JVMs in the Kubernetes API emulator, through the real client-node exec with the
 * function's own least-privilege token: live dumps (jcmd, gzip, http), the OOM dump collected after a
 * restart, the refusals (two JVMs, no JVM, no space) and the retry that must not dump twice.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetes, type Kubernetes } from '../../adapters/kubernetes/index.ts';
import { freePort, waitForPort } from '../../dev/free-port.ts';
import { EventTypes } from '../../functions/lib/events/index.ts';
import type { Handler } from '../../functions/lib/handler.ts';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';
import {
  approvedFor,
  capturedOf,
  countingExecs,
  execDumpHandler,
  failedOf,
  HPROF_HEADER,
  volumeFiles,
} from './fixture.ts';

const run = promisify(execFile);
let emulator: TestKubeEmulator;
let kube: Kubernetes;
let handle: Handler;
let tmpfs: string | undefined;
let httpPort: number;

async function firstBytes(path: string, count: number): Promise<Buffer> {
  const file = await open(path);
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(count), 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Until jcmd in the pod lists `count` JVMs (started, attachable). */
async function jvmsReady(pod: string, count = 1) {
  await expect
    .poll(
      async () => {
        const result = await kube.exec({ namespace: 'dumps', pod, container: 'app' }, ['jcmd', '-l'], {
          timeoutMs: 20_000,
        });
        return result.stdout
          .toString()
          .split('\n')
          .filter((line) => /\bHog\b|DumpEndpoint/.test(line)).length;
      },
      { timeout: 30_000, interval: 300 },
    )
    .toBe(count);
}

function restartCount(pod: string): number | undefined {
  const status = emulator.pod('dumps', pod)?.status as { containerStatuses?: { restartCount: number }[] };
  return status?.containerStatuses?.[0]?.restartCount;
}

beforeAll(async () => {
  emulator = await startTestKubeEmulator({ podsFile: 'test/fixtures/pods/exec-dump.yaml' });
  kube = createKubernetes(emulator.kubeConfig('exec-dump'));
  handle = execDumpHandler({ kube });
  httpPort = await freePort();
  // A small file system of its own (root can mount tmpfs): a dump dir with too little room.
  tmpfs = await mkdtemp('/var/tmp/exec-dump-tmpfs-');
  await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', tmpfs]);
  await emulator.addPods(`
apiVersion: v1
kind: Pod
metadata: { name: small-disk, namespace: dumps, labels: { heapdump.dev/enabled: "true" } }
spec:
  containers:
    - name: app
      command: [java, -Xmx128m, -cp, test/fixtures/java, Hog, "32", "3600000"]
      volumeMounts: [{ name: dumps, mountPath: /dumps }]
  volumes: [{ name: dumps, hostPath: { path: ${tmpfs} } }]
---
apiVersion: v1
kind: Pod
metadata:
  name: actuator
  namespace: dumps
  labels: { heapdump.dev/enabled: "true" }
  annotations: { heapdump.dev/strategy: http, heapdump.dev/http-port: "${httpPort}" }
spec:
  containers:
    - name: app
      command: [java, -Xmx64m, -cp, test/fixtures/java, DumpEndpoint, "${httpPort}", "4"]
      volumeMounts: [{ name: dumps, mountPath: /dumps }]
  volumes: [{ name: dumps, emptyDir: {} }]
`);
});

afterAll(async () => {
  await emulator?.stop();
  if (tmpfs) {
    await run('umount', [tmpfs]).catch(() => undefined);
    await rm(tmpfs, { recursive: true, force: true });
  }
});

describe('jcmd (the default)', () => {
  it('takes a live dump: a valid HPROF whose size is the one in the reply, with the pod and JVM metadata', async () => {
    await jvmsReady('jvm');
    const approved = approvedFor(emulator, 'dumps', 'jvm');
    const reply = await handle({}, approved);
    const data = capturedOf(reply);
    expect(data.leases).toEqual(approved.data?.leases);
    expect(data.files).toHaveLength(1);
    const [file] = data.files;
    expect(file!.path).toMatch(new RegExp(`^/dumps/\\d{8}T\\d{6}Z_${data.dumpId}\\.hprof$`));
    const [onHost] = await volumeFiles(emulator, 'dumps', 'jvm');
    expect(onHost!.name).toBe(file!.path.split('/').pop());
    expect(onHost!.bytes).toBe(file!.bytes);
    expect(file!.bytes).toBeGreaterThan(16 << 20); // the 16 MiB the JVM holds are in it
    expect((await firstBytes(onHost!.path, HPROF_HEADER.length)).toString('latin1')).toBe(HPROF_HEADER);

    expect(data.metadata).toMatchObject({
      strategy: 'jcmd',
      compression: 'none',
      reusedEarlierAttempt: false,
      pod: { name: 'jvm', node: 'kube-emulator', labels: { 'heapdump.dev/enabled': 'true' } },
      jvm: {
        version: expect.stringContaining('OpenJDK'),
        flags: expect.stringContaining('-XX:MaxHeapSize='),
      },
      heap: { usedBytes: expect.any(Number), freeBytesInDumpDir: expect.any(Number) },
    });
    const metadata = data.metadata as {
      heap: { usedBytes: number };
      durationSeconds: number;
      dumpSeconds: number;
    };
    expect(metadata.heap.usedBytes).toBeGreaterThan(16 << 20);
    expect(metadata.dumpSeconds).toBeGreaterThan(0);
    expect(metadata.durationSeconds).toBeGreaterThanOrEqual(metadata.dumpSeconds);
    expect((data.metadata.pod as { containerStatuses: unknown[] }).containerStatuses).toHaveLength(1);
  });

  it('answers a retried dump.approved with the file already written, without dumping again', async () => {
    const approved = approvedFor(emulator, 'dumps', 'jvm');
    const first = capturedOf(await handle({}, approved));
    const { argvs, kube: counted } = countingExecs(kube);
    const retry = await execDumpHandler({ kube: counted })({}, approved);
    expect(capturedOf(retry).files).toEqual(first.files);
    expect(capturedOf(retry).metadata.reusedEarlierAttempt).toBe(true);
    expect(argvs.filter((argv) => argv.includes('GC.heap_dump'))).toEqual([]);
    const ofThisDump = (await volumeFiles(emulator, 'dumps', 'jvm')).filter((f) =>
      f.name.includes(first.dumpId),
    );
    expect(ofThisDump).toHaveLength(1);
  });

  it('answers 503 while an earlier attempt is still writing the file, and runs no jcmd', async () => {
    const approved = approvedFor(emulator, 'dumps', 'no-jvm');
    const dir = emulator.volumePath('dumps', 'no-jvm', 'dumps')!;
    const path = join(dir, `20261123T000000Z_${approved.data?.dumpId}.hprof`);
    await writeFile(path, HPROF_HEADER);
    const writer = setInterval(() => void appendFile(path, Buffer.alloc(4096)), 20);
    try {
      const { argvs, kube: counted } = countingExecs(kube);
      const error = await execDumpHandler({ kube: counted })({}, approved).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 503, message: expect.stringContaining('still being written') });
      expect(argvs.filter((argv) => argv[0] === 'jcmd')).toEqual([]);
    } finally {
      clearInterval(writer);
      await rm(path, { force: true });
    }
  });

  it('replaces an earlier attempt that was cut short with a fresh dump', async () => {
    const approved = approvedFor(emulator, 'dumps', 'jvm');
    const stub = `20260101T000000Z_${approved.data?.dumpId}.hprof`;
    await writeFile(join(emulator.volumePath('dumps', 'jvm', 'dumps')!, stub), `${HPROF_HEADER}cut short`);
    const data = capturedOf(await handle({}, approved));
    expect(data.metadata.reusedEarlierAttempt).toBe(false);
    const names = (await volumeFiles(emulator, 'dumps', 'jvm')).map((f) => f.name);
    expect(names).not.toContain(stub);
    expect(names).toContain(data.files[0]!.path.split('/').pop());
  });

  it('writes gzip when the pod asks for it, into the annotated dump dir', async () => {
    await jvmsReady('jvm-gz');
    const reply = await handle({}, approvedFor(emulator, 'dumps', 'jvm-gz'));
    const data = capturedOf(reply);
    expect(data.files[0]!.path).toMatch(/^\/var\/dumps\/\d{8}T\d{6}Z_[a-z0-9-]+\.hprof\.gz$/);
    expect(data.metadata.compression).toBe('gzip');
    const [onHost] = await volumeFiles(emulator, 'dumps', 'jvm-gz');
    expect(onHost!.bytes).toBe(data.files[0]!.bytes);
    const raw = gunzipSync(await readFile(onHost!.path));
    expect(raw.subarray(0, HPROF_HEADER.length).toString('latin1')).toBe(HPROF_HEADER);
    expect(raw.length).toBeGreaterThan(onHost!.bytes);
  });

  it('refuses two JVMs in the container without heapdump.dev/pid (422)', async () => {
    await jvmsReady('two-jvms', 2);
    const error = await handle({}, approvedFor(emulator, 'dumps', 'two-jvms')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 422, message: expect.stringContaining('heapdump.dev/pid') });
    expect(await volumeFiles(emulator, 'dumps', 'two-jvms')).toEqual([]);
  });

  it('fails the dump with no-jvm when the container runs none', async () => {
    const reply = await handle({}, approvedFor(emulator, 'dumps', 'no-jvm'));
    expect(reply?.type).toBe(EventTypes.dumpFailed);
    expect(reply?.data).toMatchObject({ stage: 'exec', error: { code: 'no-jvm' }, fileKept: false });
  });

  it('fails with no-space, writing nothing, when the dump dir cannot hold the heap in use', async () => {
    await jvmsReady('small-disk');
    const reply = await handle({}, approvedFor(emulator, 'dumps', 'small-disk'));
    expect(reply?.type).toBe(EventTypes.dumpFailed);
    const data = failedOf(reply);
    expect(data.error.code).toBe('no-space');
    expect(data.error.message).toMatch(/has \d+ bytes free; the heap uses \d+ bytes/);
    expect(await volumeFiles(emulator, 'dumps', 'small-disk')).toEqual([]);
  });
});

describe('collect', () => {
  it('collects the dump a real OutOfMemoryError wrote, after the restart', async () => {
    await expect
      .poll(() => restartCount('oom-once'), { timeout: 60_000, interval: 200 })
      .toBeGreaterThanOrEqual(1);
    const reply = await handle({}, approvedFor(emulator, 'dumps', 'oom-once', { mode: 'collect' }));
    const data = capturedOf(reply);
    expect(data.files).toHaveLength(1);
    expect(data.files[0]!.path).toMatch(/^\/dumps\/java_pid\d+\.hprof$/);
    const [onHost] = await volumeFiles(emulator, 'dumps', 'oom-once');
    expect(onHost!.bytes).toBe(data.files[0]!.bytes);
    expect((await firstBytes(onHost!.path, HPROF_HEADER.length)).toString('latin1')).toBe(HPROF_HEADER);
    expect(data.metadata).toMatchObject({
      strategy: 'collect',
      restartCount: expect.any(Number),
      lastTermination: { exitCode: 1 },
    });
  });

  it('fails with no-dump-file when the JVM wrote none', async () => {
    const reply = await handle({}, approvedFor(emulator, 'dumps', 'no-jvm', { mode: 'collect' }));
    expect(reply?.data).toMatchObject({ error: { code: 'no-dump-file' } });
  });
});

describe('http', () => {
  it('fetches the in-pod endpoint into the dump dir', async () => {
    await waitForPort('127.0.0.1', httpPort, 30_000);
    const reply = await handle({}, approvedFor(emulator, 'dumps', 'actuator'));
    const data = capturedOf(reply);
    expect(data.files[0]!.path).toMatch(/^\/dumps\/\d{8}T\d{6}Z_[a-z0-9-]+\.hprof$/);
    const [onHost] = await volumeFiles(emulator, 'dumps', 'actuator');
    expect(onHost!.bytes).toBe(data.files[0]!.bytes);
    expect(onHost!.bytes).toBeGreaterThan(4 << 20);
    expect((await firstBytes(onHost!.path, HPROF_HEADER.length)).toString('latin1')).toBe(HPROF_HEADER);
    expect(data.metadata).toMatchObject({
      strategy: 'http',
      jvm: { version: expect.stringContaining('OpenJDK') },
    });
  });
});

describe('input checks', () => {
  const bad: [string, string][] = [
    ['heapdump.dev/dump-dir', '/dumps/../etc'],
    ['heapdump.dev/dump-dir', '../dumps'],
    ['heapdump.dev/dump-dir', '/dumps;rm -rf /'],
    ['heapdump.dev/dump-dir', '/dumps/$(id)'],
    ['heapdump.dev/pid', '1 && reboot'],
    ['heapdump.dev/pid', '`id`'],
    ['heapdump.dev/strategy', 'sh -c id'],
    ['heapdump.dev/gzip-level', '1|id'],
    ['heapdump.dev/http-path', '/actuator/../../etc/passwd'],
    ['heapdump.dev/http-path', '/x?a=$(id)'],
  ];

  it.each(bad.map(([key, value], index) => [key, value, index]))(
    'rejects %s=%j with 422 before any exec',
    async (key, value, index) => {
      const name = `bad-${index}`;
      await emulator.addPods(
        `metadata: { name: ${name}, namespace: dumps, annotations: { ${key}: ${JSON.stringify(value)} } }\n` +
          'spec: { containers: [{ name: app, command: [sleep, infinity] }] }',
      );
      const { argvs, kube: counted } = countingExecs(kube);
      const error = await execDumpHandler({ kube: counted })({}, approvedFor(emulator, 'dumps', name)).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 422, message: expect.stringContaining(key) });
      expect(argvs).toEqual([]);
      await emulator.deletePod('dumps', name);
    },
  );

  it('fails with pod-gone when the approved pod was replaced', async () => {
    const reply = await handle({}, approvedFor(emulator, 'dumps', 'no-jvm', { uid: 'another-uid' }));
    expect(reply?.data).toMatchObject({ error: { code: 'pod-gone' } });
  });
});
