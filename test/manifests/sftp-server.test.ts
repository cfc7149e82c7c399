/**
 * The SFTP server's sshd_config (infra/heapdump/sftp/sshd_config, mounted into the cluster's SFTP pod)
 * run by a real OpenSSH sshd on loopback: the key can upload into /dumps, and can neither download,
 * write outside /dumps, see outside its chroot, nor get a shell.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitForPort } from '../../dev/free-port.ts';
import { repoRoot } from './manifests.ts';

const user = 'heapdump-sftp-test';
/** Lines the test replaces: where it listens, its host key, its user; everything else runs as shipped. */
const localOnly = /^(Port|HostKey|AllowUsers)\b/;

let sshd: ChildProcess | undefined;
let port = 0;
let keys = '';
/** The chroot (the user's home): every component root-owned and not writable by others, as sshd demands. */
let home = '';

function sh(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: 'ignore' });
}

function ensureUser(homeDir: string): void {
  try {
    sh('id', ['-u', user]);
    sh('usermod', ['--home', homeDir, user]);
  } catch {
    sh('useradd', ['--no-create-home', '--home-dir', homeDir, '--shell', '/bin/sh', user]);
  }
  sh('usermod', ['-p', '*', user]); // "!" would lock the account even for key logins
}

function sftp(commands: string[]): { ok: boolean; output: string } {
  const batch = join(keys, 'batch');
  writeFileSync(batch, `${commands.join('\n')}\n`);
  try {
    const output = execFileSync(
      'sftp',
      [
        ...['-b', batch, '-P', String(port), '-i', join(keys, 'client')],
        ...['-o', `UserKnownHostsFile=${join(keys, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes'],
        ...['-o', 'BatchMode=yes', `${user}@127.0.0.1`],
      ],
      { cwd: keys, encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { ok: true, output };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  keys = mkdtempSync(join(tmpdir(), 'heapdump-sftp-keys-'));
  chmodSync(keys, 0o755);
  home = mkdtempSync('/run/heapdump-sftp-home-');
  chmodSync(home, 0o755);
  ensureUser(home);
  mkdirSync(join(home, 'dumps'));
  sh('chown', [user, join(home, 'dumps')]);
  mkdirSync(join(home, '.ssh'), { mode: 0o755 });

  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'host')]);
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'client')]);
  writeFileSync(join(home, '.ssh', 'authorized_keys'), readFileSync(join(keys, 'client.pub')));
  port = await freePort();
  writeFileSync(
    join(keys, 'known_hosts'),
    `[127.0.0.1]:${port} ${readFileSync(join(keys, 'host.pub'), 'utf8')}`,
  );
  writeFileSync(join(keys, 'upload.hprof'), Buffer.alloc(64 * 1024, 7));

  const shipped = readFileSync(join(repoRoot, 'infra/heapdump/sftp/sshd_config'), 'utf8');
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(keys, 'host')}`,
    `PidFile ${join(keys, 'sshd.pid')}`,
    `AllowUsers ${user}`,
    'UsePAM no',
    ...shipped.split('\n').filter((line) => !localOnly.test(line)),
  ].join('\n');
  writeFileSync(join(keys, 'sshd_config'), config);
  sh('/usr/sbin/sshd', ['-t', '-f', join(keys, 'sshd_config')]); // the config parses
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(keys, 'sshd_config')], { stdio: 'ignore' });
  sshd = child;
  await waitForPort('127.0.0.1', port);
});

afterAll(async () => {
  if (sshd && sshd.exitCode === null) {
    const exited = new Promise((resolve) => sshd?.once('exit', resolve));
    sshd.kill('SIGTERM');
    await exited;
  }
  if (keys) rmSync(keys, { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('the SFTP server config', () => {
  it('lets the key upload into /dumps, make directories there and rename', () => {
    const result = sftp([
      'mkdir team',
      'put upload.hprof team/x.hprof.partial',
      'rename team/x.hprof.partial team/x.hprof',
      'pwd',
    ]);
    expect(result.output).toContain('Remote working directory: /dumps');
    expect(result.ok).toBe(true);
    expect(readFileSync(join(home, 'dumps', 'team', 'x.hprof'))).toEqual(
      readFileSync(join(keys, 'upload.hprof')),
    );
  });

  it('refuses to hand a dump back', () => {
    expect(sftp(['put upload.hprof readback.hprof']).ok).toBe(true);
    const result = sftp(['get readback.hprof downloaded.hprof']);
    expect(result.ok).toBe(false);
    expect(
      existsSync(join(keys, 'downloaded.hprof')) ? readFileSync(join(keys, 'downloaded.hprof')).length : 0,
    ).toBe(0);
  });

  it('keeps the user inside its chroot and out of everything but /dumps', () => {
    expect(sftp(['put upload.hprof /outside.hprof']).ok).toBe(false);
    expect(existsSync(join(home, 'outside.hprof'))).toBe(false);
    expect(sftp(['ls /etc']).ok).toBe(false);
    expect(sftp(['symlink /dumps/readback.hprof link']).ok).toBe(false);
  });

  it('gives no shell', () => {
    let output = '';
    try {
      output = execFileSync(
        'ssh',
        [
          ...[
            '-p',
            String(port),
            '-i',
            join(keys, 'client'),
            '-o',
            `UserKnownHostsFile=${join(keys, 'known_hosts')}`,
          ],
          ...['-o', 'BatchMode=yes', `${user}@127.0.0.1`, 'echo', 'shell-works'],
        ],
        { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? '');
    }
    expect(output).not.toContain('shell-works');
  });
});
