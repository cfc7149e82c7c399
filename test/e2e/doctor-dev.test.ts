/**
 * heapdump doctor against the stack `heapdump dev` starts: its emulator serves the project's manifests as
 * a deployed, ready cluster (dev/kube-emulator/cluster/), so every check passes. Against the emulator,
 * this checks our reading of the APIs, not a real cluster.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { projectRoot } from '../../dev/stack/index.ts';
import { type E2eStack, startE2eStack } from './stack.ts';

const run = promisify(execFile);
const tsx = createRequire(import.meta.url).resolve('tsx');
const pods = `
metadata: { name: idle, namespace: demo, labels: { heapdump.dev/enabled: "true" } }
spec: { containers: [{ name: app, command: [sleep, infinity] }] }
`;

let stack: E2eStack;
beforeAll(async () => {
  stack = await startE2eStack({ pods });
}, 120_000);
afterAll(() => stack?.stop(), 60_000);

it('passes every check on the stack heapdump dev sets up', async () => {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      tsx,
      'cli/main.ts',
      'doctor',
      '--json',
      '--kubeconfig',
      stack.kubeconfig,
      '--redis-url',
      stack.redis.restUrl,
      '--redis-token',
      stack.redis.token,
    ],
    { cwd: projectRoot, timeout: 90_000 },
  ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const report = JSON.parse(stdout) as {
    ok: boolean;
    results: { check: string; outcome: string; message: string }[];
  };
  expect(report.results.filter((result) => result.outcome === 'fail')).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.results.find((result) => result.check.includes('redis'))?.outcome).toBe('pass');
}, 120_000);
