import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { projectRoot } from '../../dev/stack/index.ts';
import { imageNodeFlags } from '../../scripts/image-start.ts';
import { disposeSshd, type Sshd, startSshd } from '../../test/helpers/sshd.ts';
import type { SftpUploadJob, SftpUploadResult } from './sftp-upload-child.ts';

const run = promisify(execFile);

let bundled: Promise<string> | undefined;
/**
 * The upload child as one plain JS file. Functions run compiled JavaScript in their image; under tsx the
 * loader thread alone adds ~35 MiB of RSS, which is not the upload's.
 */
function bundledChild(): Promise<string> {
  bundled ??= (async () => {
    const outfile = join(
      import.meta.dirname,
      '../../node_modules/.cache/heapdump-bench/sftp-upload-child.mjs',
    );
    await build({
      entryPoints: [join(import.meta.dirname, 'sftp-upload-child.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'warning',
    });
    return outfile;
  })();
  return bundled;
}

/** CPU seconds of the children this process has waited for (`cutime` + `cstime` in /proc/self/stat). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/**
 * OpenSSH's own client: `sftp -b` with a one-line batch, as an operator would run it (`-l` caps it in
 * Kbit/s, as the seed's admin did). Checks the stored size, removes the stored file, and returns the wall
 * and CPU seconds of the transfer.
 */
export async function opensshSftpPut(
  sshd: Sshd,
  file: string,
  remoteName: string,
  options: { workDir: string; limitKbps?: number },
): Promise<{ seconds: number; cpuSeconds: number }> {
  const batch = join(options.workDir, 'batch');
  const stored = join(sshd.root, remoteName);
  writeFileSync(batch, `put ${file} ${stored}\n`);
  const args = [
    '-q',
    '-b',
    batch,
    '-i',
    sshd.privateKeyPath,
    '-P',
    String(sshd.port),
    '-o',
    `UserKnownHostsFile=${sshd.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    ...(options.limitKbps ? ['-l', String(options.limitKbps)] : []),
    `${sshd.user}@${sshd.host}`,
  ];
  const started = performance.now();
  const cpuBefore = childrenCpuSeconds();
  await run('sftp', args, { maxBuffer: 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = childrenCpuSeconds() - cpuBefore;
  if (statSync(stored).size !== statSync(file).size) throw new Error('sftp put stored a short file');
  rmSync(stored);
  return { seconds, cpuSeconds };
}

/** A local sshd with internal-sftp and a file of random (incompressible) bytes to send to it. */
export async function startSftpBench(sizeBytes: number) {
  const dir = mkdtempSync(join(tmpdir(), 'heapdump-bench-'));
  const file = join(dir, 'dump.bin');
  const fd = openSync(file, 'w');
  const chunk = Buffer.allocUnsafe(16 * 1024 * 1024);
  for (let written = 0; written < sizeBytes; written += chunk.length) {
    randomFillSync(chunk);
    writeSync(fd, chunk, 0, Math.min(chunk.length, sizeBytes - written));
  }
  closeSync(fd);
  const sshd: Sshd = await startSshd();

  const opensshPut = (remoteName: string, limitKbps?: number) =>
    opensshSftpPut(sshd, file, remoteName, { workDir: dir, limitKbps });

  /** Our pipeline, in a child process so its peak RSS is its own. */
  async function oursPut(
    remoteName: string,
    options: Pick<SftpUploadJob, 'bytesPerSecond' | 'gzipLevel' | 'maxInFlightBytes'>,
  ): Promise<SftpUploadResult> {
    const job: SftpUploadJob = {
      file,
      sizeBytes,
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKeyPath: sshd.privateKeyPath,
      knownHostsPath: sshd.knownHostsPath,
      root: sshd.root,
      name: remoteName,
      ...options,
    };
    // With the image's node flags: upload-dump runs with them.
    const child = spawn(
      process.execPath,
      [...imageNodeFlags(projectRoot), await bundledChild(), JSON.stringify(job)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (data: Buffer) => {
      out += data.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`upload child exited with ${code}`);
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as SftpUploadResult;
    if (statSync(join(sshd.root, remoteName)).size !== sizeBytes)
      throw new Error('our upload stored a short file');
    return result;
  }

  /** sha256 of a stored file, by the system's sha256sum (an independent check of what arrived). */
  async function storedSha256(remoteName: string): Promise<string> {
    const { stdout } = await run('sha256sum', [join(sshd.root, remoteName)]);
    return stdout.split(' ')[0]!;
  }

  return {
    sshd,
    file,
    opensshPut,
    oursPut,
    storedSha256,
    removeStored: (remoteName: string) => rmSync(join(sshd.root, remoteName), { force: true }),
    async stop() {
      await disposeSshd(sshd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
