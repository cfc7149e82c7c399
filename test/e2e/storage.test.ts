import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffMs } from '../../dev/broker/index.ts';
import { tokensHeld, waitForDumps, waitForJvms, waitForTokensReleased } from '../../dev/stack/drive.ts';
import { projectRoot, type StorageBackend } from '../../dev/stack/index.ts';
import { EventTypes } from '../../functions/lib/events/index.ts';
import { disposeSshd, type Sshd, startSshd } from '../helpers/sshd.ts';
import { type E2eStack, jvmPod, startE2eStack } from './stack.ts';

const run = promisify(execFile);
const NS = 'e2e-sftp';
let sshd: Sshd;
let stack: E2eStack;

/** upload-dump writing to a real OpenSSH sshd with a pinned host key. */
function sftpStorage(server: Sshd): StorageBackend {
  return {
    kind: 'sftp',
    location: `sftp://${server.host}:${server.port}${server.root}`,
    env: {
      HEAPDUMP_STORAGE: 'sftp',
      SFTP_HOST: server.host,
      SFTP_PORT: String(server.port),
      SFTP_USER: server.user,
      SFTP_PRIVATE_KEY: server.privateKey,
      SFTP_HOST_KEY: server.hostKey,
      SFTP_ROOT: server.root,
    },
    stop: async () => {},
  };
}

beforeAll(async () => {
  sshd = await startSshd();
  stack = await startE2eStack({
    storage: sftpStorage(sshd),
    pods: jvmPod(NS, 'big', 48, 96) + jvmPod(NS, 'victim', 8),
    // Stored as it is (no gzip) and capped at 40 Mbit/s, so the 48 MiB dump takes about 10 s to upload.
    functionEnv: { UPLOAD_GZIP_LEVEL: '0', UPLOAD_RATE_MBPS: '40', UPLOAD_SEGMENT_MIB: '4' },
  });
  await waitForJvms(
    stack,
    ['big', 'victim'].map((pod) => ({ namespace: NS, pod })),
    { mainClass: 'Hog', timeoutMs: 90_000 },
  );
}, 240_000);
afterAll(async () => {
  await stack?.stop();
  if (sshd) await disposeSshd(sshd);
}, 60_000);

/** The real CLI in its own process, finding the stack through its env file. */
async function heapdump(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
      cwd: projectRoot,
      env: { ...process.env, HEAPDUMP_ENV_FILE: stack.envFile },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('storage over SFTP', () => {
  it('heapdump watch follows a running upload with a progress bar until it is stored', async () => {
    const since = stack.display!.events().length;
    const triggered = await heapdump(['trigger', `${NS}/big`]);
    expect(triggered.code).toBe(0);
    const approved = await stack.display!.waitFor((e) => e.type === EventTypes.dumpApproved, {
      timeoutMs: 60_000,
      after: since,
    });
    const dumpId = String(approved.dumpid);

    const watchedFrom = Date.now();
    const watched = await heapdump(['watch', dumpId, '--interval', '200']);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(`stored at sftp://${sshd.host}:${sshd.port}`);
    const record = await stack.store.records.getDump(dumpId);
    expect(record?.state).toBe('uploaded');
    // The watch began well before the upload ended, and drew the bar in between.
    expect(record!.uploadedAt! - watchedFrom).toBeGreaterThan(3000);
    const percentages = [...watched.stderr.matchAll(/uploading\s*\|[^|]*\| (\d+)%/g)].map((m) =>
      Number(m[1]),
    );
    expect(
      percentages.some((p) => p > 0 && p < 100),
      watched.stderr,
    ).toBe(true);
    expect(existsSync(join(sshd.root, `${NS}/big/app`))).toBe(true);
    await waitForTokensReleased(stack, 30_000);
  }, 180_000);

  it('SFTP down: upload-dump is retried as its Trigger says, then dead-lettered; tokens released, the record says why', async () => {
    await sshd.stop();
    const trigger = stack.broker.triggers.find((t) => t.name === 'upload-dump-dump-captured')!;
    expect(trigger.delivery).toMatchObject({ retry: 5, backoffPolicy: 'exponential' });

    const triggered = await heapdump(['trigger', `${NS}/victim`]);
    expect(triggered.code).toBe(0);
    const [record] = await waitForDumps(stack, (r) => r.target === `${NS}/victim/app`, {
      timeoutMs: 120_000,
    });
    expect(record?.state).toBe('failed');
    expect(record?.error?.message).toMatch(/dead letter/);
    expect(record?.error?.message).toMatch(/503/);
    await waitForTokensReleased(stack, 30_000);
    expect(await tokensHeld(stack)).toBe(0);

    const hops = stack.broker.trace.entries().filter((e) => e.dumpid === record!.dumpId);
    const attempts = hops.filter((e) => e.kind === 'attempt' && e.trigger === trigger.name);
    expect(attempts.map((a) => a.status)).toEqual(Array(trigger.delivery.retry + 1).fill(503));
    expect(attempts.slice(0, -1).map((a) => a.retryInMs)).toEqual(
      attempts.slice(0, -1).map((_, i) => backoffMs(trigger.delivery, i + 1)),
    );
    // The Broker writes the dead-letter hop once the sink has answered, which is after release-token has
    // already recorded the failure: wait for it.
    const deadLetterHop = () =>
      stack.broker.trace
        .entries()
        .find((e) => e.dumpid === record!.dumpId && e.kind === 'dead-letter' && e.trigger === trigger.name);
    await expect.poll(deadLetterHop, { timeout: 10_000 }).toBeDefined();
    const dead = deadLetterHop();
    expect(dead?.type).toBe(EventTypes.dumpCaptured);
    expect(dead?.status).toBeLessThan(300);

    // The dump stays in the pod for a later try.
    const volume = stack.emulator.volumePath(NS, 'victim', 'dumps')!;
    expect(readdirSync(volume).filter((f) => f.endsWith('.hprof'))).toHaveLength(1);
    await sshd.start();
  }, 180_000);
});
