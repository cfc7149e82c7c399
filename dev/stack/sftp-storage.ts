import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../free-port.ts';
import { killProcessTree } from '../kube-emulator/process-tree.ts';
import type { StorageBackend } from './storage.ts';

const USER = 'heapdump-dev';
const SSHD = '/usr/sbin/sshd';
/** The lines of the shipped config that name the cluster's port, key and user; the rest runs as shipped. */
const clusterOnly = /^(Port|HostKey|AllowUsers)\b/;

const sh = (command: string, args: string[]) => execFileSync(command, args, { stdio: 'ignore' });

/** A login for the SFTP user; its home is the chroot. */
function ensureUser(home: string): void {
  try {
    sh('id', ['-u', USER]);
    sh('usermod', ['--home', home, USER]);
  } catch {
    sh('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', USER]);
  }
  sh('usermod', ['-p', '*', USER]); // "!" locks the account even for key logins
}

/**
 * The cluster's SFTP server on loopback: OpenSSH sshd running infra/heapdump/sftp/sshd_config (chrooted,
 * upload-only, key-only) with a fresh host key, pinned by upload-dump, and a fresh client key. Needs root
 * (a chroot user and a root-owned chroot). Dumps land in `<chroot>/dumps`, removed again by stop().
 */
export async function startSftpStorage(projectRoot: string): Promise<StorageBackend> {
  if (process.getuid?.() !== 0) throw new Error('--storage sftp runs a chrooted sshd and needs root');
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  const keys = mkdtempSync(join(tmpdir(), 'heapdump-dev-sftp-keys-'));
  // sshd wants every component of the chroot root-owned and not writable by others: /tmp is not.
  const home = mkdtempSync('/run/heapdump-dev-sftp-');
  chmodSync(home, 0o755);
  const cleanup = () => {
    rmSync(keys, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  };
  try {
    ensureUser(home);
    const dumps = join(home, 'dumps');
    mkdirSync(dumps);
    sh('chown', [USER, dumps]);
    mkdirSync(join(home, '.ssh'), { mode: 0o755 });
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'heapdump-dev', '-f', join(keys, 'host')]);
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'heapdump-dev', '-f', join(keys, 'client')]);
    writeFileSync(join(home, '.ssh', 'authorized_keys'), readFileSync(join(keys, 'client.pub')));

    const port = await freePort();
    const shipped = readFileSync(join(projectRoot, 'infra/heapdump/sftp/sshd_config'), 'utf8');
    const config = join(keys, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(keys, 'host')}`,
        `PidFile ${join(keys, 'sshd.pid')}`,
        `AllowUsers ${USER}`,
        'UsePAM no',
        ...shipped.split('\n').filter((line) => !clusterOnly.test(line)),
      ].join('\n'),
    );
    const sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: 'ignore' });
    const exited = once(sshd, 'exit');
    await Promise.race([
      waitForPort('127.0.0.1', port),
      exited.then(([code]) => Promise.reject(new Error(`sshd exited with ${code}`))),
    ]);
    const hostKey = readFileSync(join(keys, 'host.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    return {
      kind: 'sftp',
      location: `sftp://${USER}@127.0.0.1:${port}/dumps (on disk: ${dumps})`,
      dir: dumps,
      env: {
        HEAPDUMP_STORAGE: 'sftp',
        SFTP_HOST: '127.0.0.1',
        SFTP_PORT: String(port),
        SFTP_USER: USER,
        SFTP_PRIVATE_KEY: readFileSync(join(keys, 'client'), 'utf8'),
        SFTP_HOST_KEY: hostKey,
        // internal-sftp starts in /dumps, inside the chroot.
        SFTP_ROOT: '/dumps',
      },
      async stop() {
        // Its sessions run in descendants that outlive a SIGTERM of the listener: they must be gone
        // before their files are removed.
        if (sshd.exitCode === null && sshd.pid) {
          await killProcessTree(sshd.pid);
          await exited;
        }
        cleanup();
      },
    };
  } catch (error) {
    cleanup();
    throw error;
  }
}
