/**
 * `npm run bench -- <name> [args...]` runs bench/<name>.ts, whose default export returns the figures;
 * they are printed as a table and written to bench/results/<name>.json. Without a name, runs them all.
 */
import { readdirSync } from 'node:fs';
import { report } from './lib/report.ts';

type Bench = (args: string[]) => Promise<Record<string, string | number | boolean | null>>;

const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (name && !available.includes(name)) {
  console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
  process.exit(2);
}
for (const bench of name ? [name] : available) {
  const module = (await import(`./${bench}.ts`)) as { default: Bench };
  report(bench, await module.default(args));
}
