import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type BenchResult = Record<string, string | number | boolean | null>;

/** Prints a two-column table and writes bench/results/<name>.json. */
export function report(
  name: string,
  result: BenchResult,
  resultsDir = join(import.meta.dirname, '..', 'results'),
) {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ name, at: new Date().toISOString(), ...result }, null, 2)}\n`);
  const width = Math.max(...Object.keys(result).map((k) => k.length));
  console.log(`\n${name}`);
  for (const [key, value] of Object.entries(result)) {
    const shown = typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : String(value);
    console.log(`  ${key.padEnd(width)}  ${shown}`);
  }
  console.log(`  → ${file}`);
  return file;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
