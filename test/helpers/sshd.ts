import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SftpSinkConfig } from '../../adapters/storage/sftp-sink.ts';
import { freePort, waitForPort } from '../../dev/free-port.ts';
import { killProcessTree } from '../../dev/kube-emulator/process-tree.ts';

export interface Sshd {
  host: string;
  port: number;
  user: string;
  /** The client's private key (OpenSSH format), authorized on this server. */
  privateKey: string;
  privateKeyPath: string;
  /** The server's public host key, `ssh-ed25519 AAAA...`. */
  hostKey: string;
  /** `SHA256:...` as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  /** A known_hosts file that pins this server's key, for OpenSSH clients and for our sink. */
  knownHostsPath: string;
  /** A directory the SFTP user owns and may write to. */
  root: string;
  stop(): Promise<void>;
  /** Restart on the same port with the same keys (after stop(), to simulate an outage); no-op while running. */
  start(): Promise<void>;
}

export interface SshdOptions {
  /**
   * Log in as this unprivileged user (created with useradd when missing) instead of root, so file
   * permissions apply: root ignores them, which would hide "permission denied".
   */
  user?: string;
  /** The sftp subsystem command (default `internal-sftp`), e.g. `internal-sftp -P read` for an upload-only server. */
  sftpServer?: string;
}

const SSHD = '/usr/sbin/sshd';

function ensureUser(user: string): void {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--no-create-home', '--home-dir', '/tmp', '--shell', '/bin/sh', user]);
  }
  // useradd leaves the password field as "!", which sshd treats as a locked account even for key logins.
  execFileSync('usermod', ['-p', '*', user]);
}

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'heapdump-test', '-f', path]);
}

/** Starts a real OpenSSH sshd on a free loopback port with its own host key and internal-sftp. */
export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  const user = options.user ?? 'root';
  if (user !== 'root') ensureUser(user);
  // Privilege separation directory; Debian creates it only when the service starts.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = mkdtempSync(join(tmpdir(), 'heapdump-sshd-'));
  chmodSync(dir, 0o755); // an unprivileged user must read authorized_keys here
  const hostKeyPath = join(dir, 'host_ed25519');
  const clientKeyPath = join(dir, 'client_ed25519');
  keygen(hostKeyPath);
  keygen(clientKeyPath);
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${clientKeyPath}.pub`));
  chmodSync(authorizedKeys, 0o644);

  const root = join(dir, 'root');
  mkdirSync(root);
  if (user !== 'root') execFileSync('chown', [user, root]);

  const port = await freePort();
  const hostKey = readFileSync(`${hostKeyPath}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const keyBlob = Buffer.from(hostKey.split(' ')[1]!, 'base64');
  const hostKeyFingerprint = `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
  const knownHostsPath = join(dir, 'known_hosts');
  writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${hostKey}\n`);

  const configPath = join(dir, 'sshd_config');
  writeFileSync(
    configPath,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKeyPath}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `AllowUsers ${user}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `Subsystem sftp ${options.sftpServer ?? 'internal-sftp'}`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const proc = spawn(SSHD, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child = proc;
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`sshd exited with ${code}: ${stderr.trim()}`))),
    );
    exited.catch(() => {});
    await Promise.race([waitForPort('127.0.0.1', port), exited]);
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // Stopping the listener alone leaves open sessions running in its descendants (after privilege
    // separation the connection is served by a grandchild); an outage drops them too, and they must be
    // gone before anyone removes what they were writing.
    await killProcessTree(proc.pid!);
    await gone;
  };

  await start();
  const privateKey = readFileSync(clientKeyPath, 'utf8');
  return {
    host: '127.0.0.1',
    port,
    user,
    privateKey,
    privateKeyPath: clientKeyPath,
    hostKey,
    hostKeyFingerprint,
    knownHostsPath,
    root,
    start,
    stop,
  };
}

/** Stops sshd and removes its directory (keys, config, and everything uploaded). */
export async function disposeSshd(sshd: Sshd): Promise<void> {
  await sshd.stop();
  rmSync(join(sshd.root, '..'), { recursive: true, force: true, maxRetries: 3 });
}

/** Our SFTP sink's settings for this server: the authorized client key, the host key pinned by known_hosts. */
export function sftpSinkConfig(sshd: Sshd): SftpSinkConfig {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey: sshd.privateKey,
    hostKey: readFileSync(sshd.knownHostsPath, 'utf8'),
    root: sshd.root,
  };
}

/** upload-dump's environment for this server, its secrets as files, as func.yaml mounts them. */
export function sftpStorageEnv(sshd: Sshd): Record<string, string> {
  return {
    HEAPDUMP_STORAGE: 'sftp',
    SFTP_HOST: sshd.host,
    SFTP_PORT: String(sshd.port),
    SFTP_USER: sshd.user,
    SFTP_PRIVATE_KEY_FILE: sshd.privateKeyPath,
    SFTP_HOST_KEY_FILE: sshd.knownHostsPath,
    SFTP_ROOT: sshd.root,
  };
}
