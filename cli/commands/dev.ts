import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { DevStack } from '../../dev/stack/index.ts';
import { storageKinds } from '../../dev/stack/storage-kinds.ts';
import { action, CliError, ExitCode } from '../context.ts';
import type { RegisterCommand } from './index.ts';

interface DevFlags {
  storage: string;
  storageDir?: string;
  pods?: string;
  capacity: string;
  ping: string;
  json?: boolean;
}

/** What `heapdump dev` prints once everything runs: where each part is and how to reach it. */
export function describeStack(stack: DevStack): string {
  const lines = [
    'heapdump dev: the chain is running',
    `  Broker          ${stack.brokerUrl}`,
    ...Object.values(stack.functions).map((fn) => `  ${fn.name.padEnd(15)} ${fn.url}`),
    ...stack.missing.map((name) => `  ${name.padEnd(15)} not written yet: events for it are dropped`),
    `  Kubernetes API  ${stack.emulator.url}  (kubectl --kubeconfig ${stack.kubeconfig} get pods -A)`,
    `  Redis REST      ${stack.redis.restUrl}  (redis-server ${stack.redis.redisUrl})`,
    `  storage         ${stack.storage.kind}: ${stack.storage.location}`,
    `  trace           ${stack.traceFile}`,
    `  logs            ${stack.stateDir}/logs/`,
  ];
  if (stack.envFile) {
    lines.push(
      `  env             ${stack.envFile}  (the CLI reads it; for a shell: set -a; . ${stack.envFile}; set +a)`,
    );
  }
  lines.push(
    '',
    'try:',
    '  heapdump status',
    '  heapdump trigger demo/shop-api',
    '  heapdump list',
    '',
    'Ctrl-C stops everything.',
  );
  return lines.join('\n');
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `heapdump dev`: the whole chain on this machine until Ctrl-C. */
export const registerDev: RegisterCommand = (program: Command) => {
  program
    .command('dev')
    .description(
      'run the whole chain locally: Redis, Kubernetes API emulator, Broker, the functions, storage',
    )
    .option('--storage <kind>', `where dumps go: ${storageKinds.join(', ')}`, 'file')
    .option('--storage-dir <dir>', 'file: where dumps go (default heapdumps); azure: Azurite data')
    .option('--pods <file>', 'Pod manifests for the emulator (default: the demo namespace)')
    .option('--capacity <n>', 'tokens in the dump and upload pools', '1')
    .option('--ping <seconds>', 'period of the sweep tick (the PingSource)', '60')
    .option('--json', 'print one JSON line with the addresses instead of the text')
    .action(
      action(async (flags: DevFlags) => {
        if (!storageKinds.includes(flags.storage as never))
          throw new CliError(`--storage must be one of ${storageKinds.join(', ')}`, ExitCode.usage);
        const kind = flags.storage as (typeof storageKinds)[number];
        // Listening from the start: a signal while starting stops what has started once it is up.
        const signalled = untilSignal();
        // Loaded on use, so the other commands (and `heapdump emulator`) start without the whole stack.
        const { projectRoot, startDevStack } = await import('../../dev/stack/index.ts');
        const { startStorage } = await import('../../dev/stack/storage.ts');
        const storage = await startStorage(kind, {
          dir: resolve(flags.storageDir ?? (kind === 'azure' ? '.heapdump/dev/azurite' : 'heapdumps')),
          projectRoot,
        });
        const stack = await startDevStack({
          storage,
          podsFile: flags.pods ? resolve(flags.pods) : undefined,
          capacity: { dump: Number(flags.capacity), upload: Number(flags.capacity) },
          pingIntervalMs: Number(flags.ping) * 1000,
          onProgress: flags.json ? undefined : (line) => console.error(`  … ${line}`),
        }).catch(async (error) => {
          await storage.stop();
          throw error;
        });
        if (flags.json) {
          const functions = Object.fromEntries(
            Object.values(stack.functions).map((fn) => [fn.name, { url: fn.url, pid: fn.pid }]),
          );
          console.log(JSON.stringify({ ...stack.env, pid: process.pid, functions, missing: stack.missing }));
        } else console.log(describeStack(stack));
        const signal = await signalled;
        console.error(`\n${signal}: stopping the dev stack…`);
        await stack.stop();
        return ExitCode.ok;
      }),
    );
};
