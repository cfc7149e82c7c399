import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { dumpId as dumpIdSchema } from '../../functions/lib/events/index.ts';
import { action, CliError, cliStore, ExitCode, formatBytes, printJson } from '../context.ts';

const finished = new Set(['uploaded', 'failed']);

export function registerWatch(program: Command) {
  program
    .command('watch')
    .description('follow one dump with a progress bar until it is stored or failed')
    .argument('<dumpId>')
    .option('--interval <ms>', 'poll interval', '500')
    .option('--timeout <s>', 'give up after this many seconds', '3600')
    .option('--json', 'print the final record as JSON')
    .action(
      action(async (dumpId: string, options: { interval: string; timeout: string; json?: boolean }) => {
        if (!dumpIdSchema.safeParse(dumpId).success)
          throw new CliError(`not a dump id: ${dumpId}`, ExitCode.usage);
        const store = cliStore();
        const deadline = Date.now() + Number(options.timeout) * 1000;
        const bar = new cliProgress.SingleBar(
          {
            format: ' {state} |{bar}| {percentage}% {done}/{total} {rate}/s ETA {eta_formatted}',
            hideCursor: true,
            noTTYOutput: true,
            notTTYSchedule: 2000,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        let started = false;
        for (;;) {
          const record = await store.records.getDump(dumpId);
          if (!record && !started) throw new CliError(`no dump ${dumpId}`, ExitCode.failed);
          if (record) {
            const total = record.bytesTotal ?? record.rawBytes ?? 0;
            const payload = {
              state: record.state.padEnd(9),
              done: formatBytes(record.bytesDone ?? 0),
              total: formatBytes(total),
              rate: formatBytes(record.rateBytesPerSec ?? 0),
            };
            if (!started) {
              bar.start(Math.max(total, 1), record.bytesDone ?? 0, payload);
              started = true;
            }
            bar.setTotal(Math.max(total, 1));
            bar.update(record.state === 'uploaded' ? Math.max(total, 1) : (record.bytesDone ?? 0), payload);
            if (finished.has(record.state)) {
              bar.stop();
              if (options.json) printJson(record);
              else if (record.state === 'uploaded') console.log(`stored at ${record.location}`);
              else console.log(`failed at ${record.error?.stage}: ${record.error?.message}`);
              return record.state === 'uploaded' ? ExitCode.ok : ExitCode.failed;
            }
          }
          if (Date.now() > deadline) {
            bar.stop();
            throw new CliError(`gave up after ${options.timeout}s; the dump is still ${record?.state}`);
          }
          await new Promise((r) => setTimeout(r, Number(options.interval)));
        }
      }),
    );
}
