import type { Command } from 'commander';
import { action, cliStore, formatBytes, printJson, table } from '../context.ts';

export function registerList(program: Command) {
  program
    .command('list')
    .description('recent dumps with state, size and location')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'machine-readable output')
    .action(
      action(async (options: { limit: string; json?: boolean }) => {
        const dumps = await cliStore().records.listDumps(Number(options.limit) || 20);
        if (options.json) return void printJson(dumps);
        if (dumps.length === 0) {
          console.log('no dumps yet');
          return undefined;
        }
        const rows = dumps.map((d) => [
          d.dumpId,
          d.state,
          d.target ?? '-',
          formatBytes(d.rawBytes),
          formatBytes(d.storedBytes),
          d.location ?? d.error?.message ?? '-',
        ]);
        console.log(table([['DUMP', 'STATE', 'TARGET', 'RAW', 'STORED', 'LOCATION / ERROR'], ...rows]));
        return undefined;
      }),
    );
}
