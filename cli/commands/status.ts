import type { Command } from 'commander';
import { action, cliStore, printJson, table } from '../context.ts';

const pools = ['dump', 'upload'] as const;

export function registerStatus(program: Command) {
  program
    .command('status')
    .description('global switch, tokens held and by whom, the wait queue')
    .option('--json', 'machine-readable output')
    .action(
      action(async (options: { json?: boolean }) => {
        const store = cliStore();
        const now = Date.now();
        const [globalOn, queue, dumped, ...perPool] = await Promise.all([
          store.switches.isGlobalOn(),
          store.queue.list(),
          store.switches.listDumped(),
          ...pools.map(async (pool) => ({
            pool,
            capacity: await store.pools.capacity(pool),
            holders: await store.pools.holders(pool),
          })),
        ]);
        const status = {
          global: globalOn ? 'on' : 'off',
          pools: perPool.map((p) => ({
            ...p,
            holders: p.holders.map((h) => ({
              ...h,
              expiresInSeconds: Math.round((h.expiresAt - now) / 1000),
            })),
          })),
          queue,
          dumpedContainers: dumped.length,
        };
        if (options.json) return void printJson(status);
        console.log(`global switch: ${status.global}`);
        for (const p of status.pools) {
          const live = p.holders.filter((h) => !h.expired).length;
          console.log(`\n${p.pool} tokens: ${live}/${p.capacity} held`);
          if (p.holders.length) {
            const rows = p.holders.map((h) => [
              h.leaseId,
              h.dumpId,
              h.target,
              h.expired ? 'expired' : `${h.expiresInSeconds}s`,
            ]);
            console.log(table([['LEASE', 'DUMP', 'HOLDER', 'EXPIRES IN'], ...rows]));
          }
        }
        console.log(`\nqueue: ${queue.length} waiting`);
        if (queue.length)
          console.log(table([['POS', 'DUMP'], ...queue.map((q) => [String(q.position), q.dumpId])]));
        console.log(`\ncontainers already dumped (switch off): ${dumped.length}`);
        return undefined;
      }),
    );
}
