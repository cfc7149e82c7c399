/**
 * test/cluster/run.sh and its workflow cannot run here (no container runtime): this checks what can be
 * checked without a cluster: the workflow against GitHub's schema (action-validator), the script's
 * syntax, and that every repository path it applies or builds exists.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const script = readFileSync(join(root, 'test/cluster/run.sh'), 'utf8');

describe('the real-cluster check', () => {
  it('its workflow validates against the GitHub Actions schema', async () => {
    const validator = join(root, 'node_modules/.bin/action-validator');
    await expect(run(validator, [join(root, '.github/workflows/cluster.yaml')])).resolves.toBeDefined();
  });

  it('its script parses and runs it from the workflow', async () => {
    await run('bash', ['-n', join(root, 'test/cluster/run.sh')]);
    expect(readFileSync(join(root, '.github/workflows/cluster.yaml'), 'utf8')).toContain(
      'bash test/cluster/run.sh',
    );
  });

  it('applies, builds and deploys only what exists', () => {
    const paths = [
      ...[...script.matchAll(/apply -k (\S+)/g)].map((m) => m[1]!),
      ...[...script.matchAll(/-f (Containerfile)/g)].map((m) => m[1]!),
    ];
    expect(paths.length).toBeGreaterThanOrEqual(3);
    for (const path of paths) expect(existsSync(join(root, path)), path).toBe(true);
    for (const fn of ['alert-bridge', 'decide-dump', 'exec-dump', 'upload-dump', 'release-token'])
      expect(existsSync(join(root, 'functions', fn, 'func.yaml'))).toBe(true);
  });

  it('deploys the functions the way docs/deploy.md does', () => {
    const doc = readFileSync(join(root, 'docs/deploy.md'), 'utf8');
    const deploy = /func deploy --path "\$dir" --build=false --push=false --image "\$IMAGE"/;
    expect(doc).toMatch(deploy);
    expect(script).toMatch(deploy);
  });
});
