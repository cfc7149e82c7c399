import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node flags of the image's start, package.json's `start` (`node <flags> build/start.cjs`). The build
 * writes the V8 code caches with them (V8 refuses a cache made under other flags), and dev, tests and
 * benches start functions with them, so all run with the image's V8 settings.
 */
export function imageNodeFlags(root: string): string[] {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const [command, ...args] = scripts.start.trim().split(/\s+/);
  if (command !== 'node') throw new Error(`package.json's start should run node, not "${command}"`);
  return args.filter((arg) => arg.startsWith('--'));
}
