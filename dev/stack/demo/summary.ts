import type { DumpRecord } from '../../../adapters/redis-store/index.ts';
import { formatTree, traceTree } from '../../../cli/commands/trace.ts';
import { formatBytes, table } from '../../../cli/context.ts';
import type { TraceEntry } from '../../broker/index.ts';
import { EVENT_DISPLAY } from '../event-display.ts';
import type { StepResult } from './story.ts';

const seconds = (r: DumpRecord) =>
  r.uploadedAt && r.approvedAt ? `${((r.uploadedAt - r.approvedAt) / 1000).toFixed(1)} s` : '-';

/** The demo's closing report: the steps, every dump with where it is, and the trace of one dump. */
export function demoSummary(input: {
  results: StepResult[];
  dumps: DumpRecord[];
  trace: TraceEntry[];
  totalSeconds: number;
}): string {
  const { results, dumps } = input;
  const passed = results.filter((r) => r.ok).length;
  const lines = [
    '',
    '══ summary ══',
    ...results.map((r) => `${r.ok ? '✓' : '✗'} ${r.title} (${r.seconds.toFixed(1)} s)`),
    '',
  ];
  const stored = dumps.filter((d) => d.state !== 'skipped');
  if (stored.length > 0) {
    lines.push(
      table([
        ['TARGET', 'MODE', 'STATE', 'RAW', 'STORED', 'APPROVED→STORED', 'WHERE'],
        ...stored.map((d) => [
          d.target ?? '-',
          d.mode ?? '-',
          d.state,
          formatBytes(d.rawBytes),
          formatBytes(d.storedBytes),
          seconds(d),
          d.location ?? d.error?.message ?? '-',
        ]),
      ]),
      '',
    );
  }
  const first = stored.find((d) => d.state === 'uploaded');
  if (first) {
    // The event display sees every event; its deliveries are the demo's, not the chain's.
    const hops = input.trace.filter((e) => e.trigger !== EVENT_DISPLAY);
    lines.push(
      `trace of dump ${first.dumpId} (${first.target}):`,
      formatTree(traceTree(hops, first.dumpId)),
      '',
    );
  }
  lines.push(
    `${passed} of ${results.length} steps happened in ${input.totalSeconds.toFixed(0)} s${passed === results.length ? '' : ' — see FAILED above'}`,
  );
  return lines.join('\n');
}
