import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const tsx = ['node_modules/tsx/dist/cli.mjs'];
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1]) * 1024;
}

/** pid + start time of a live process (a pid the kernel reuses later is a different process; a zombie is dead). */
function identity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : `${pid}:${fields[19]}`;
  } catch {
    return undefined;
  }
}

function descendants(pid: number): number[] {
  const children = readdirChildren(pid);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

function readdirChildren(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The emulator as a user runs it (`heapdump emulator`), in its own process so its RSS is its own. */
describe('heapdump emulator: a 1 GiB exec stream to a slow reader', () => {
  let dir: string;
  let cli: ChildProcess;
  let emulatorPid: number;
  let kubeconfig: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-emulator-stream-'));
    kubeconfig = join(dir, 'kubeconfig');
    cli = spawn(
      process.execPath,
      [
        ...tsx,
        'cli/main.ts',
        'emulator',
        '--pods',
        'test/fixtures/pods/streamer.yaml',
        '--kubeconfig',
        kubeconfig,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = await createInterface({ input: cli.stdout! })
      [Symbol.asyncIterator]()
      .next()
      .then((r) => [r.value]);
    emulatorPid = (JSON.parse(line as string) as { pid: number }).pid;
  });

  afterAll(async () => {
    if (cli.exitCode === null) cli.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the emulator and the reader bounded, then stops on SIGTERM taking its containers along', async () => {
    const emulatorBaseline = rssOf(emulatorPid);
    let emulatorPeak = emulatorBaseline;
    const sampler = setInterval(() => {
      emulatorPeak = Math.max(emulatorPeak, rssOf(emulatorPid));
    }, 50);
    const reader = spawn(
      process.execPath,
      [
        ...tsx,
        'test/kube-emulator/stream-reader.ts',
        kubeconfig,
        'default',
        'streamer',
        'main',
        String(GiB),
        String(MiB),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    reader.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise((resolve) => reader.once('close', resolve));
    clearInterval(sampler);
    expect(code).toBe(0);
    const result = JSON.parse(output) as {
      received: number;
      exitCode: number;
      baselineRssBytes: number;
      peakRssBytes: number;
      seconds: number;
    };
    const figures = {
      emulatorBaselineMiB: emulatorBaseline / MiB,
      emulatorPeakMiB: emulatorPeak / MiB,
      readerBaselineMiB: result.baselineRssBytes / MiB,
      readerPeakMiB: result.peakRssBytes / MiB,
      seconds: result.seconds,
    };
    console.log(`1 GiB exec stream: ${JSON.stringify(figures)}`);
    expect(result.received).toBe(GiB);
    expect(result.exitCode).toBe(0);
    expect(emulatorPeak).toBeLessThan(128 * MiB);
    // The reader loads @kubernetes/client-node (~120 MiB by itself): what the stream adds is what must stay small.
    expect(result.peakRssBytes - result.baselineRssBytes).toBeLessThan(64 * MiB);

    const containers = descendants(emulatorPid).map(identity);
    expect(containers.length).toBeGreaterThan(0);
    cli.kill('SIGTERM');
    expect(await new Promise((resolve) => cli.once('exit', (exitCode) => resolve(exitCode)))).toBe(0);
    const survivors = containers.filter((id) => id && identity(Number(id.split(':')[0])) === id);
    expect(survivors).toEqual([]);
  }, 90_000);
});
