import type { Outcome } from './check.ts';
import type { DoctorReport } from './run.ts';

const marks: Record<Outcome, string> = { pass: '✓', fail: '✗', skip: '-' };

/** One line per result, the fix under each failure, and a count. */
export function formatReport(report: DoctorReport): string {
  const lines = report.results.flatMap((result) => [
    `${marks[result.outcome]} ${result.message}`,
    ...(result.fix ? [`    fix: ${result.fix}`] : []),
  ]);
  const count = (outcome: Outcome) => report.results.filter((result) => result.outcome === outcome).length;
  lines.push('', `${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`);
  return lines.join('\n');
}

/** The same results for scripts: `{ ok, results: [{ check, outcome, message, fix? }] }`. */
export function reportJson(report: DoctorReport): string {
  return JSON.stringify(report, null, 2);
}
