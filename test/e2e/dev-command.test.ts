import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { functionNames, projectRoot } from '../../dev/stack/index.ts';

const run = promisify(execFile);
// The CLI runs in a directory of its own, outside the project, so tsx is named by its path.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
const cli = join(projectRoot, 'cli/main.ts');
let dev: ChildProcess | undefined;
let workDir: string | undefined;

afterAll(async () => {
  if (dev && dev.exitCode === null) dev.kill('SIGKILL');
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** The environment without anything that would point the CLI elsewhere than the env file. */
function withoutStackVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const names = [
    'HEAPDUMP_ENV_FILE',
    'REDIS_REST_URL',
    'REDIS_REST_TOKEN',
    'HEAPDUMP_KEY_PREFIX',
    'HEAPDUMP_BROKER_URL',
  ];
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
}

/** Until `jcmd -l` in the pod, run through real kubectl exec, lists the Hog JVM. */
async function untilJvm(kubeconfig: string, pod: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const listed = await run('kubectl', [
      '--kubeconfig',
      kubeconfig,
      'exec',
      '-n',
      'demo',
      pod,
      '--',
      'jcmd',
      '-l',
    ])
      .then((r) => r.stdout)
      .catch(() => '');
    if (listed.includes('Hog')) return;
    if (Date.now() > deadline) throw new Error(`no JVM in demo/${pod}`);
    await sleep(300);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('heapdump dev runs the chain, the CLI and kubectl find it by .heapdump/dev/env, a dump goes through, SIGTERM stops everything', async () => {
  workDir = await mkdtemp(join(tmpdir(), 'heapdump-dev-'));
  dev = spawn(process.execPath, ['--import', tsx, cli, 'dev', '--json', '--ping', '0'], {
    cwd: workDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  dev.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => dev!.once('exit', (code) => resolve(code)));
  const [line] = await Promise.race([
    createInterface({ input: dev.stdout! })
      [Symbol.asyncIterator]()
      .next()
      .then((r) => [r.value as string]),
    exited.then((code) => {
      throw new Error(`heapdump dev exited with ${code}: ${stderr}`);
    }),
  ]);
  const started = JSON.parse(String(line)) as Record<string, string> & {
    functions: Record<string, { url: string; pid: number }>;
    missing: string[];
  };
  const envFile = join(workDir, '.heapdump', 'dev', 'env');
  expect(existsSync(envFile)).toBe(true);
  expect(started.HEAPDUMP_BROKER_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/heapdump\/heapdump$/);
  expect([...Object.keys(started.functions), ...started.missing].sort()).toEqual([...functionNames].sort());

  // The CLI in that directory finds the stack by its env file alone.
  const heapdump = async (args: string[]) =>
    (
      await run(process.execPath, ['--import', tsx, cli, ...args], {
        cwd: workDir,
        env: withoutStackVariables(process.env),
      })
    ).stdout;
  expect(JSON.parse(await heapdump(['status', '--json']))).toMatchObject({ global: 'on' });
  const kubectl = await run('kubectl', [
    '--kubeconfig',
    started.KUBECONFIG!,
    'get',
    'pods',
    '-n',
    'demo',
    '-o',
    'name',
  ]);
  expect(kubectl.stdout.split('\n').filter(Boolean)).toEqual(
    expect.arrayContaining(['pod/shop-api', 'pod/batch-1', 'pod/batch-2', 'pod/batch-3']),
  );

  // A dump through the running chain, followed with the CLI: trigger, list, trace.
  await untilJvm(started.KUBECONFIG!, 'batch-1');
  await heapdump(['trigger', 'demo/batch-1']);
  const deadline = Date.now() + 120_000;
  let dumps: { dumpId: string; state: string }[] = [];
  while (!dumps.some((d) => d.state === 'uploaded') && Date.now() < deadline) {
    await sleep(500);
    dumps = JSON.parse(await heapdump(['list', '--json']));
  }
  expect(dumps.map((d) => d.state)).toEqual(['uploaded']);
  const trace = await heapdump(['trace', dumps[0]!.dumpId]);
  for (const type of ['dump.requested', 'dump.approved', 'dump.captured', 'dump.uploaded']) {
    expect(trace).toContain(`dev.heapdump.${type}`);
  }

  dev.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(existsSync(envFile)).toBe(false);
  const pids = Object.values(started.functions).map((fn) => fn.pid);
  expect(pids.filter(alive)).toEqual([]);
}, 240_000);
