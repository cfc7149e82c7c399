import { randomBytes, randomUUID } from 'node:crypto';
import { rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { postAlerts, waitForDumps, waitForJvms } from '../../dev/stack/drive.ts';
import { startFunctionProcess } from '../../dev/stack/function-process.ts';
import { projectRoot } from '../../dev/stack/index.ts';
import { buildFunctions } from '../../scripts/build-functions.ts';
import { type E2eStack, jvmPod, startE2eStack } from './stack.ts';

const NS = 'e2e-bundle';
// Inside the project, so the bundle's external packages (ssh2) resolve from node_modules.
const outdir = join(projectRoot, '.heapdump', `test-build-${randomUUID()}`);
let bundle: string;
let stack: E2eStack | undefined;
beforeAll(async () => {
  bundle = await buildFunctions(outdir);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await rm(outdir, { recursive: true, force: true });
}, 60_000);

it('the image’s build (npm run build): every function served from the bundle, alert → stored dump', async () => {
  stack = await startE2eStack({ bundle, pods: jvmPod(NS, 'app', 4, 32) });
  await waitForJvms(stack, [{ namespace: NS, pod: 'app' }], { mainClass: 'Hog', timeoutMs: 90_000 });
  expect((await postAlerts(stack, [{ namespace: NS, pod: 'app' }])).status).toBe(200);
  const [record] = await waitForDumps(stack, () => true, { timeoutMs: 120_000 });
  expect(record).toMatchObject({ state: 'uploaded', target: `${NS}/app/app` });
  expect(record!.storedBytes).toBeGreaterThan(0);
}, 240_000);

it('a bundle asked for a function it does not have names the ones it has', async () => {
  const starting = startFunctionProcess('no-such-function', {
    root: projectRoot,
    bundle,
    env: { HEAPDUMP_FUNCTION: 'no-such-function' },
    startTimeoutMs: 30_000,
  });
  await expect(starting).rejects.toThrow(
    /HEAPDUMP_FUNCTION must name one of alert-bridge, .*; got "no-such-function"/,
  );
}, 60_000);

it('each function starts from the code cache the build wrote, and without a usable one still starts', async () => {
  const env = { ALERT_BRIDGE_TOKEN: randomBytes(24).toString('hex'), K_SINK: 'http://127.0.0.1:9/' };
  const start = () =>
    startFunctionProcess('alert-bridge', { root: projectRoot, bundle, env, startTimeoutMs: 30_000 });
  const cache = join(dirname(bundle), 'alert-bridge.cjs.cache');
  expect((await stat(cache)).size).toBeGreaterThan(0);

  const cached = await start();
  await cached.stop();
  expect(cached.output()).not.toContain('code cache');

  await writeFile(cache, 'not a code cache');
  const refused = await start();
  expect((await fetch(refused.url, { method: 'POST' })).status).toBeLessThan(500);
  await refused.stop();
  expect(refused.output()).toContain('V8 refused the code cache');

  await rm(cache);
  const uncached = await start();
  expect((await fetch(uncached.url, { method: 'POST' })).status).toBeLessThan(500);
  await uncached.stop();
}, 60_000);
