import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKubeEmulator, type TestKubeEmulator } from '../helpers/kube-emulator.ts';

const run = promisify(execFile);

let emulator: TestKubeEmulator;

/** Real kubectl against the emulator: its exit code, stdout and stderr. */
async function kubectl(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: emulator.kubeconfigPath } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

beforeAll(async () => {
  emulator = await startTestKubeEmulator({ podsFile: 'test/fixtures/pods/jvms.yaml' });
  await emulator.addPods(await readFile('test/fixtures/pods/basic.yaml', 'utf8'));
});
afterAll(() => emulator?.stop());

describe('kubectl against the emulator', () => {
  it('get pods -A -o json', async () => {
    const { code, stdout } = await kubectl(['get', 'pods', '-A', '-o', 'json']);
    expect(code).toBe(0);
    const list = JSON.parse(stdout) as {
      items: { metadata: { namespace: string; name: string }; status: { phase: string } }[];
    };
    expect(list.items.map((pod) => `${pod.metadata.namespace}/${pod.metadata.name}`).sort()).toEqual([
      'default/jvm-a',
      'default/jvm-b',
      'default/two-containers',
      'shop/app-1',
    ]);
    expect(list.items.every((pod) => pod.status.phase === 'Running')).toBe(true);
  });

  it('get pods prints the server-side table', async () => {
    const { code, stdout } = await kubectl(['get', 'pods', '-n', 'shop', '-o', 'wide']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/);
    expect(stdout).toMatch(/app-1\s+1\/1\s+Running\s+0\s+\S+\s+127\.0\.0\.1\s+kube-emulator/);
  });

  it('get pods -w shows a pod that appears while watching', async () => {
    const watcher = spawn('kubectl', ['get', 'pods', '-n', 'watched', '-w', '--request-timeout=20s'], {
      env: { ...process.env, KUBECONFIG: emulator.kubeconfigPath },
    });
    let output = '';
    watcher.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const killer = setTimeout(() => watcher.kill('SIGKILL'), 20_000);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await emulator.addPods(
        'metadata: { name: late, namespace: watched }\nspec: { containers: [{ name: c, command: [sleep, infinity] }] }',
      );
      await expect.poll(() => output, { timeout: 10_000 }).toMatch(/late\s+1\/1\s+Running/);
    } finally {
      clearTimeout(killer);
      watcher.kill('SIGKILL');
      await emulator.deletePod('watched', 'late');
    }
  });

  it('exec -c <container> -- <cmd> passes the exit code', async () => {
    const result = await kubectl([
      'exec',
      '-n',
      'shop',
      'app-1',
      '-c',
      'app',
      '--',
      'sh',
      '-c',
      'echo out; echo err >&2; exit 3',
    ]);
    expect(result).toMatchObject({ code: 3, stdout: 'out\n' });
    expect(result.stderr).toContain('err\n');
    expect((await kubectl(['exec', 'two-containers', '-c', 'sidecar', '--', 'true'])).code).toBe(0);
  });

  it('exec -i passes stdin and its end', async () => {
    const result = await kubectl(
      ['exec', '-i', '-n', 'shop', 'app-1', '-c', 'app', '--', 'sha256sum'],
      'hello',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\s/);
  });

  it('exec into a pod or container that does not exist fails with the API server message', async () => {
    const noPod = await kubectl(['exec', '-n', 'shop', 'nope', '--', 'true']);
    expect(noPod.code).not.toBe(0);
    expect(noPod.stderr).toContain('pods "nope" not found');
    const noContainer = await kubectl(['exec', '-n', 'shop', 'app-1', '-c', 'nope', '--', 'true']);
    expect(noContainer.code).not.toBe(0);
    expect(noContainer.stderr).toContain('container nope is not valid for pod app-1');
  });
});

describe('containers are isolated like pods (mount + PID namespaces)', () => {
  const jcmdList = async (pod: string) => (await kubectl(['exec', pod, '--', 'jcmd', '-l'])).stdout;

  it('jcmd -l in a pod sees only that pod’s JVM, and a heap dump lands in that pod’s /dumps', async () => {
    expect(emulator.isolation).toBe('namespaces');
    await expect.poll(() => jcmdList('jvm-a'), { timeout: 15_000 }).toMatch(/Hog/);
    await expect.poll(() => jcmdList('jvm-b'), { timeout: 15_000 }).toMatch(/Hog/);
    const jvms = (await jcmdList('jvm-a')).split('\n').filter((line) => /\bHog\b/.test(line));
    expect(jvms).toHaveLength(1);
    const pid = jvms[0]!.split(' ')[0]!;

    const dump = await kubectl(['exec', 'jvm-a', '--', 'jcmd', pid, 'GC.heap_dump', '/dumps/live.hprof']);
    expect(dump.code).toBe(0);
    expect(dump.stdout).toContain('Heap dump file created');
    const hostFile = join(emulator.volumePath('default', 'jvm-a', 'dumps')!, 'live.hprof');
    const size = (await stat(hostFile)).size;
    expect(size).toBeGreaterThan(1 << 20);
    const inPod = await kubectl(['exec', 'jvm-a', '--', 'stat', '-c', '%s', '/dumps/live.hprof']);
    expect(Number(inPod.stdout)).toBe(size);
    expect(await readdir(emulator.volumePath('default', 'jvm-b', 'dumps')!)).toEqual([]);
    expect((await kubectl(['exec', 'jvm-b', '--', 'ls', '/dumps'])).stdout).toBe('');
    // /tmp is the container's own: the other JVM's attach files are not there.
    // (A checkout under /tmp is carried into it, so the test ignores the top of the repository's path.)
    const checkoutTop = relative('/tmp', process.cwd()).startsWith('..') ? [] : [process.cwd().split('/')[2]];
    const tmpEntries = (await kubectl(['exec', 'jvm-b', '--', 'ls', '-A', '/tmp'])).stdout.trim().split('\n');
    expect(tmpEntries.filter((entry) => !checkoutTop.includes(entry))).toEqual(['hsperfdata_root']);
  });

  it('streams a dump back out with tail -c +N and removes it with rm', async () => {
    const hostFile = join(emulator.volumePath('default', 'jvm-a', 'dumps')!, 'live.hprof');
    const { stdout } = await run('sh', ['-c', `tail -c +1025 ${hostFile} | sha256sum`]);
    const viaExec = await new Promise<string>((resolve) => {
      const child = spawn('sh', ['-c', 'kubectl exec jvm-a -- tail -c +1025 /dumps/live.hprof | sha256sum'], {
        env: { ...process.env, KUBECONFIG: emulator.kubeconfigPath },
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.on('close', () => resolve(out));
    });
    expect(viaExec).toBe(stdout);
    expect((await kubectl(['exec', 'jvm-a', '--', 'rm', '/dumps/live.hprof'])).code).toBe(0);
    expect(await readdir(emulator.volumePath('default', 'jvm-a', 'dumps')!)).toEqual([]);
  });
});
