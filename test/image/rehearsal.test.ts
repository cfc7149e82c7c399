/**
 * The image, rehearsed as `func build` (pack, Paketo's Node.js buildpacks) makes it and `func deploy` runs
 * it, on exactly what func would send:
 * 1. the project through .funcignore as pack filters it (pack-ignore.ts) into an empty directory;
 * 2. paketo-buildpacks/npm-install: `npm ci --unsafe-perm` with NODE_ENV=development (build layer);
 * 3. paketo-buildpacks/node-run-script: `npm run <script>` for each script in func.yaml's
 *    BP_NODE_RUN_SCRIPTS (comma separated), devDependencies present;
 * 4. npm-install's launch layer: `npm prune` under node-engine's NODE_ENV=production;
 * 5. paketo-buildpacks/npm-start: package.json's `start` run by `sh`, NODE_ENV=production, PORT set;
 *    each function with its func.yaml's env, its Secrets as files where `run.volumes` mounts them.
 * Then a CloudEvent to each (curl), the answer checked, and the probes of functions started without K_SINK.
 * Loopback only: FUNC_HOST=127.0.0.1 is the one setting the image does not have.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/free-port.ts';
import { createEventFactory, EventTypes } from '../../functions/lib/events/index.ts';
import { samples } from '../../functions/lib/events/samples.ts';
import { type Services, startServices } from '../broker/services.ts';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis.ts';
import {
  envOf,
  type FuncDescriptor,
  readFunctionDescriptor,
  readYamlFile,
  repoRoot,
} from '../manifests/manifests.ts';
import { copyAsPackSends, packExcludes, readFuncIgnore } from './pack-ignore.ts';

const run = promisify(execFile);
const work = mkdtempSync('/var/tmp/heapdump-rehearsal-');
const app = join(work, 'workspace');
const secretsRoot = '/var/run/secrets/';
let sent: string[];
let redis: TestRedis;
let emulator: TestKubeEmulator;
let sink: Services;
const started: { stop(): Promise<void> }[] = [];

async function npm(args: string[], nodeEnv: string) {
  await run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: app,
    env: { ...process.env, NODE_ENV: nodeEnv, CI: 'true' },
    maxBuffer: 64 << 20,
    timeout: 600_000,
  });
}

beforeAll(async () => {
  sent = copyAsPackSends(repoRoot, app, readFuncIgnore(repoRoot));
  [redis, emulator, sink] = await Promise.all([
    startTestRedis(),
    startTestKubeEmulator(),
    startServices({ broker: () => ({ status: 202 }) }),
  ]);
  await npm(['ci', '--unsafe-perm'], 'development');
  const buildEnvs = (
    readYamlFile('func.yaml') as { build?: { buildEnvs?: { name: string; value: string }[] } }
  ).build?.buildEnvs;
  const scripts = buildEnvs?.find((env) => env.name === 'BP_NODE_RUN_SCRIPTS')?.value ?? '';
  for (const script of scripts
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean))
    await npm(['run', script], 'development');
  await npm(['prune'], 'production');
}, 900_000);
afterAll(async () => {
  await Promise.all(started.map((fn) => fn.stop()));
  await Promise.all([redis?.stop(), emulator?.stop(), sink?.close()]);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

const alertToken = randomBytes(24).toString('hex');

/** Secret files where func.yaml mounts them (under `work`), each holding what its key must. */
function secretFiles(descriptor: FuncDescriptor): Record<string, string> {
  const env: Record<string, string> = {};
  const keyPair = join(work, 'sftp-key');
  for (const [name, value] of envOf(descriptor)) {
    if (!name.endsWith('_FILE') || !value.startsWith(secretsRoot)) continue;
    const file = join(work, 'secrets', descriptor.name, value.slice(secretsRoot.length));
    mkdirSync(dirname(file), { recursive: true });
    if (name.startsWith('SFTP_') && !existsSync(keyPair))
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPair]);
    const content: Record<string, () => string | Buffer> = {
      REDIS_REST_TOKEN_FILE: () => redis.token,
      ALERT_BRIDGE_TOKEN_FILE: () => alertToken,
      SFTP_PRIVATE_KEY_FILE: () => readFileSync(keyPair),
      SFTP_HOST_KEY_FILE: () => readFileSync(`${keyPair}.pub`),
    };
    if (!content[name]) throw new Error(`no test content for the secret file ${name}`);
    writeFileSync(file, content[name]!());
    env[name] = file;
  }
  return env;
}

/** Starts one function as npm-start's start.sh does: package.json's start under sh, in the workspace. */
async function startAsImage(name: string, extra: Record<string, string | undefined>) {
  const descriptor = readFunctionDescriptor(name as never);
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...Object.fromEntries(envOf(descriptor)),
    ...secretFiles(descriptor),
    REDIS_REST_URL: redis.restUrl,
    HEAPDUMP_KEY_PREFIX: `rehearsal-${name}:`,
    NODE_ENV: 'production',
    PORT: String(port),
    FUNC_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...extra,
  };
  const { scripts } = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const child = spawn('sh', ['-c', scripts.start], {
    cwd: app,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const fn = {
    url: `http://127.0.0.1:${port}/`,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  started.push(fn);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${fn.url}health/readiness`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return fn;
    if (Date.now() > deadline) throw new Error(`${name} was not ready within 30 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** POSTs with curl, as docs/deploy.md does: the status, the reply's ce-type (binary mode) and body. */
async function curl(url: string, headers: Record<string, string>, body: string) {
  const args = ['-sS', '--max-time', '30', '-o', '-', '-w', '\n%header{ce-type}\n%{http_code}', url];
  for (const [key, value] of Object.entries(headers)) args.push('-H', `${key}: ${value}`);
  args.push('--data-binary', body);
  const { stdout } = await run('curl', args);
  const [status, type, ...rest] = stdout.split('\n').reverse();
  return { status: Number(status), type: type || undefined, body: rest.reverse().join('\n') };
}

async function sendEvent(url: string, type: keyof typeof samples) {
  const event = createEventFactory('rehearsal')(type, samples[type] as never);
  const message = HTTP.binary(event);
  return curl(url, message.headers as Record<string, string>, message.body as string);
}

describe('what func sends to the builder (.funcignore as pack reads it)', () => {
  it('holds only what the image needs', () => {
    const top = [...new Set(sent.map((path) => path.split('/')[0]))].sort();
    expect(top).toEqual([
      'adapters',
      'functions',
      'package-lock.json',
      'package.json',
      'scripts',
      'tsconfig.json',
    ]);
  });

  it('is what the Containerfile copies and .dockerignore lets through, for docker/podman builds', () => {
    const top = [...new Set(sent.map((path) => path.split('/')[0]))].sort();
    const containerfile = readFileSync(join(repoRoot, 'Containerfile'), 'utf8');
    const copied = [...containerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      m[1]!.split(' '),
    );
    expect(copied.sort()).toEqual(top);
    const allowed = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').match(/^!\S+$/gm) ?? [];
    expect(allowed.map((line) => line.slice(1)).sort()).toEqual(top);
  });

  it.each([
    'heapdumps/shop/api/app/x.hprof.gz',
    'heapdumps/shop/api/app/x.json',
    '.heapdump/demo/trace.jsonl',
    '.heapdump/dev/env',
    '.heapdump/dev/kubeconfig',
    'node_modules/zod/package.json',
    '.git/config',
    'build/start.cjs',
    'id_ed25519',
    'functions/upload-dump/tls.key',
    'scripts/debug.log',
    'leak.hprof',
  ])('leaves out %s', (path) => {
    expect(packExcludes(readFuncIgnore(repoRoot))(path)).toBe(true);
  });
});

describe('the image, built as Paketo builds it', () => {
  it('has the build and no devDependencies', () => {
    expect(existsSync(join(app, 'build', 'start.cjs'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'ssh2'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'vitest'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'typescript'))).toBe(false);
  });

  it('alert-bridge forwards a webhook to its K_SINK', async () => {
    const fn = await startAsImage('alert-bridge', { K_SINK: sink.url('broker') });
    const webhook = readFileSync(join(repoRoot, 'test/decide/alertmanager-webhook.json'), 'utf8');
    const answer = await curl(
      fn.url,
      { 'content-type': 'application/json', authorization: `Bearer ${alertToken}` },
      webhook,
    );
    expect(answer.status, fn.output()).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ forwarded: 1 });
    expect(sink.of('broker').map((request) => request.event?.type)).toEqual([EventTypes.alertFiring]);
  });

  it.each([
    ['decide-dump', EventTypes.dumpRequested, 200, EventTypes.dumpSkipped],
    ['exec-dump', EventTypes.dumpApproved, 200, EventTypes.dumpFailed],
    ['upload-dump', EventTypes.dumpCaptured, 200, EventTypes.dumpFailed],
    ['release-token', EventTypes.sweep, 204, undefined],
  ] as const)('%s answers %s', async (name, type, status, reply) => {
    const kube = emulator.tokens[name] ? { KUBECONFIG: await emulator.kubeconfigFile(name) } : {};
    const fn = await startAsImage(name, { ...kube, K_SINK: sink.url('broker') });
    const answer = await sendEvent(fn.url, type);
    expect(answer.status, `${answer.body}\n${fn.output()}`).toBe(status);
    expect(answer.type).toBe(reply);
  });

  it.each(['alert-bridge', 'release-token'])('%s without K_SINK passes its probes', async (name) => {
    const fn = await startAsImage(name, { K_SINK: undefined });
    // Probes answer 503 while the event loop lags after a start on a busy machine; the kubelet retries too.
    for (const probe of ['health/readiness', 'health/liveness'])
      await expect
        .poll(() => fetch(`${fn.url}${probe}`).then((r) => r.status), { timeout: 15_000 })
        .toBe(200);
  });
});
