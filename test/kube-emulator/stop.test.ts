import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PodObject } from '../../dev/kube-emulator/index.ts';
import { detectIsolation, openSandbox } from '../../dev/kube-emulator/sandbox.ts';
import { startTestKubeEmulator } from '../helpers/kube-emulator.ts';

/** Host pids whose command line carries the marker: what a stopped emulator must not leave behind. */
function processesWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

// Containers that write files into its volume and its private /tmp, starts a writer in the background
// and exit at once: the emulator restarts them with no back-off, so stop() always lands mid-restart.
const restartLoop = (marker: string) => `
metadata: { name: churn, namespace: shop }
spec:
  volumes: [{ name: data, emptyDir: {} }]
  containers:
    - name: c
      command: [sh, -c, 'for i in 1 2 3 4 5 6 7 8; do echo ${marker} > /data/f$$i; echo x > /tmp/t$$i; done; (while :; do echo ${marker} >> /data/bg; done) >/dev/null 2>&1 & exit 1']
      volumeMounts: [{ name: data, mountPath: /data }]
    # Its background writer keeps the output pipe open: the container still ends with its main process.
    - name: d
      command: [sh, -c, '(while :; do echo ${marker}; sleep 0.01; done) & exit 2']
`;

/** The fewest restarts among the pod's containers. */
const restartsOf = (pod: PodObject | undefined) =>
  Math.min(
    ...((
      pod?.status as { containerStatuses?: { restartCount: number }[] } | undefined
    )?.containerStatuses?.map((status) => status.restartCount) ?? [-1]),
  );

describe('stopping the emulator', () => {
  it('while a pod is in a restart loop and writing: no error, no process left, its files gone', async () => {
    for (let round = 0; round < 8; round++) {
      const marker = `churn-${randomBytes(6).toString('hex')}`;
      const emulator = await startTestKubeEmulator({
        pods: restartLoop(marker).replaceAll('$$', '$'),
        timing: { backoffBaseMs: 0, backoffMaxMs: 0 },
      });
      const stateDir = `${emulator.kubeconfigPath}/..`;
      // Let it restart a few times (more each round), then stop in the middle of whatever it is doing.
      await expect
        .poll(() => restartsOf(emulator.pod('shop', 'churn')), { timeout: 10_000 })
        .toBeGreaterThan(round);
      await new Promise((resolve) => setTimeout(resolve, 7 * round));
      await expect(emulator.stop()).resolves.toBeUndefined();
      expect(processesWith(marker)).toEqual([]);
      expect(() => readdirSync(stateDir)).toThrow(/ENOENT/);
    }
  });
});

describe('closing a container sandbox', () => {
  it.skipIf(process.getuid?.() !== 0)(
    'leaves nothing of the container running once close() resolves',
    async () => {
      const isolation = await detectIsolation();
      if (isolation !== 'namespaces') return;
      const root = mkdtempSync('/var/tmp/heapdump-sandbox-');
      try {
        for (let round = 0; round < 10; round++) {
          // An unusual sleep time marks the container's processes (dash has no `exec -a`).
          const marker = String(900_000 + Math.floor(Math.random() * 99_999));
          const sandbox = await openSandbox(
            {
              dir: join(root, String(round)),
              mounts: [],
              workingDir: '/',
              env: { PATH: process.env.PATH ?? '' },
            },
            isolation,
          );
          sandbox.spawn(['sh', '-c', `sleep ${marker} & sleep ${marker}`], { stdin: false });
          await expect.poll(() => processesWith(marker).length, { timeout: 5_000 }).toBeGreaterThan(0);
          await sandbox.close();
          expect(processesWith(marker)).toEqual([]);
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  );
});
