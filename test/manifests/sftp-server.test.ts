/**
 * The SFTP server's sshd_config (infra/heapdump/sftp/sshd_config, mounted into the cluster's SFTP pod)
 * run by a real OpenSSH sshd on loopback: the key can upload into /dumps, and can neither download,
 * write outside /dumps, see outside its chroot, nor get a shell. The dumps directory is prepared by
 * the SFTP pod's own init step, as in the cluster.
 *
 * And the pod around it (infra/heapdump/sftp.yaml): the volume is mounted inside the chroot, and the
 * init step hands a freshly provisioned, root-owned volume (EBS, GCE PD, Ceph RBD) to the uid and gid
 * the container's user spec gives atmoz/sftp, without a pod fsGroup (which would loosen the host key).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitForPort } from '../../dev/free-port.ts';
import { type KubeObject, ofKind, renderKustomization, repoRoot } from './manifests.ts';

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

// The SFTP pod as `kubectl apply -k infra/` creates it.
const sftpPod: KubeObject = ofKind(renderKustomization('infra/heapdump'), 'Deployment').find(
  (d) => d.metadata.name === 'heapdump-sftp',
)?.spec.template.spec;
const sftpContainer: KubeObject = sftpPod?.containers.find((c: KubeObject) => c.name === 'sftp');
const dumpsVolume: KubeObject = sftpPod?.volumes.find((v: KubeObject) => v.persistentVolumeClaim);
const dumpsMount: KubeObject = sftpContainer?.volumeMounts.find(
  (m: KubeObject) => m.name === dumpsVolume?.name,
);
const initStep: KubeObject = sftpPod?.initContainers?.find((c: KubeObject) =>
  c.volumeMounts?.some((m: KubeObject) => m.name === dumpsVolume?.name),
);
const initArgv: string[] = [...(initStep?.command ?? []), ...(initStep?.args ?? [])];

/**
 * atmoz/sftp's user spec, `user:pass[:e][:uid[:gid[:dir1[,dir2]...]]]` (atmoz/sftp files/create-sftp-user):
 * the user is created with that uid and gid, its home /home/<user> root-owned 0755 (the chroot), and
 * each dir made under it and chowned to the user, unless it already exists (a mount point does).
 */
function parseUserSpec(spec: string) {
  const fields = spec.split(':');
  const skip = fields[2] === 'e' ? 1 : 0;
  return {
    user: fields[0] ?? '',
    uid: Number(fields[2 + skip]),
    gid: Number(fields[3 + skip]),
    dirs: (fields[4 + skip] ?? '').split(',').filter(Boolean),
  };
}
const userSpec = parseUserSpec(String(sftpContainer?.args?.[0] ?? ''));

/** Runs the pod's init step as written, with its owner and directory (its last two arguments) replaced. */
function runInitStep(owner: string, dir: string): void {
  const [command, ...rest] = initArgv;
  execFileSync(command ?? 'false', [...rest.slice(0, -2), owner, dir], { stdio: 'pipe', timeout: 10_000 });
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
  mkdirSync(join(home, 'dumps'), { mode: 0o755 }); // root-owned, as a fresh volume's root
  const id = (flag: string) => execFileSync('id', [flag, user], { encoding: 'utf8' }).trim();
  runInitStep(`${id('-u')}:${id('-g')}`, join(home, 'dumps')); // what the pod does before sshd starts
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

describe('the SFTP pod in infra/heapdump/sftp.yaml', () => {
  const shippedConfig = readFileSync(join(repoRoot, 'infra/heapdump/sftp/sshd_config'), 'utf8');
  const home = `/home/${userSpec.user}`;

  it('creates the user sshd_config allows, with a fixed uid and gid, chrooted to its home', () => {
    expect(userSpec.user).not.toBe('');
    expect(shippedConfig).toMatch(new RegExp(`^AllowUsers\\s+(.*\\s)?${userSpec.user}(\\s|$)`, 'm'));
    expect(shippedConfig).toMatch(/^ChrootDirectory\s+%h\s*$/m);
    expect(Number.isInteger(userSpec.uid) && userSpec.uid > 0).toBe(true);
    expect(Number.isInteger(userSpec.gid) && userSpec.gid > 0).toBe(true);
  });

  it('mounts the dumps volume on a directory of the user spec, inside the chroot, never at or above it', () => {
    expect(dumpsMount).toBeDefined();
    expect(userSpec.dirs.map((dir) => `${home}/${dir}`)).toContain(dumpsMount?.mountPath);
    // internal-sftp starts there (-d /dumps, relative to the chroot).
    const startDir = /^ForceCommand\s+internal-sftp\b.*\s-d\s+(\S+)/m.exec(shippedConfig)?.[1];
    expect(`${home}${startDir}`).toBe(dumpsMount?.mountPath);
    for (const mount of sftpContainer.volumeMounts as KubeObject[]) {
      expect(['/', '/home', home, `${home}/`]).not.toContain(mount.mountPath);
    }
  });

  it('sets no pod fsGroup: the kubelet would make the Secret-mounted host key group-readable, and sshd skips such a key', () => {
    expect(sftpPod?.securityContext?.fsGroup).toBeUndefined();
    const hostKey = (sftpContainer.volumeMounts as KubeObject[]).find((m) =>
      String(m.mountPath).startsWith('/etc/ssh/ssh_host_'),
    );
    const secret = sftpPod.volumes.find((v: KubeObject) => v.name === hostKey?.name)?.secret;
    expect(secret?.defaultMode).toBe(0o400);
  });

  it('has an init step, same image, that gives the mounted volume to the uid:gid of the user spec', () => {
    expect(initStep).toBeDefined();
    expect(initStep.image).toBe(sftpContainer.image);
    const mount = (initStep.volumeMounts as KubeObject[]).find((m) => m.name === dumpsVolume?.name);
    expect(mount?.mountPath).toBe(dumpsMount?.mountPath);
    expect(initArgv.at(-1)).toBe(dumpsMount?.mountPath);
    expect(initArgv.at(-2)).toBe(`${userSpec.uid}:${userSpec.gid}`);
    expect(initStep.securityContext).toMatchObject({
      runAsUser: 0,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect([...initStep.securityContext.capabilities.add].sort()).toEqual(['CHOWN', 'FOWNER']);
  });

  it('the init step turns a root-owned volume root into one the user can write to, and can run again', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'heapdump-sftp-volume-'));
    try {
      chmodSync(scratch, 0o755); // traversable by the user, as the chroot is
      const volume = join(scratch, 'dumps');
      mkdirSync(volume, { mode: 0o755 });
      chownSync(volume, 0, 0); // what a fresh ext4/xfs volume's root looks like
      const asUser = { uid: userSpec.uid, gid: userSpec.gid, stdio: 'pipe' as const };
      expect(() => execFileSync('touch', [join(volume, 'before.hprof')], asUser)).toThrow();

      runInitStep(String(initArgv.at(-2)), volume);
      runInitStep(String(initArgv.at(-2)), volume); // every pod start
      const stat = statSync(volume);
      expect([stat.uid, stat.gid]).toEqual([userSpec.uid, userSpec.gid]);
      expect(stat.mode & 0o700).toBe(0o700);
      execFileSync('mkdir', ['-p', join(volume, 'team', 'pod')], asUser);
      execFileSync('touch', [join(volume, 'team', 'pod', 'after.hprof')], asUser);
      expect(existsSync(join(volume, 'team', 'pod', 'after.hprof'))).toBe(true);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
