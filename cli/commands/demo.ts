import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { action, CliError, ExitCode } from '../context.ts';
import { untilSignal } from './dev.ts';
import type { RegisterCommand } from './index.ts';

/** `heapdump demo` (make demo): starts the dev stack and tells the story with real processes. */
export const registerDemo: RegisterCommand = (program: Command) => {
  program
    .command('demo')
    .description('start the dev stack and show the whole chain at work; exits 0 only if every step happened')
    .option('--storage-dir <dir>', 'where the dumps are stored', 'heapdumps')
    .action(
      action(async (flags: { storageDir: string }) => {
        const started = performance.now();
        // Loaded on use, so the other commands start without the whole stack.
        const { startDevStack } = await import('../../dev/stack/index.ts');
        const { runStory } = await import('../../dev/stack/demo/story.ts');
        const { demoSummary } = await import('../../dev/stack/demo/summary.ts');
        // Listening from the start: a signal while starting stops the stack as soon as it is up.
        const signalled = untilSignal();
        console.log('heapdump demo: starting the chain (redis, Kubernetes API emulator, Broker, functions)…');
        const stack = await startDevStack({
          stateDir: join(process.cwd(), '.heapdump', 'demo'),
          storageDir: resolve(flags.storageDir),
          eventDisplay: true,
          onProgress: (line) => console.log(`  ${line}`),
        });
        const interrupted = new AbortController();
        void signalled.then(async (signal) => {
          console.error(`\n${signal}: stopping the demo…`);
          interrupted.abort();
          await stack.stop(); // the step under way fails fast, and no other starts
        });
        try {
          const results = await runStory(
            stack,
            {
              start: (index, title) => console.log(`\n[${index}] ${title}`),
              note: (line) => console.log(`    ${line}`),
              end: (result) => console.log(`    ${result.ok ? '✓' : '✗'} ${result.seconds.toFixed(1)} s`),
            },
            interrupted.signal,
          );
          if (interrupted.signal.aborted) throw new CliError('the demo was interrupted');
          console.log(
            demoSummary({
              results,
              dumps: (await stack.store.records.listDumps(100)).reverse(),
              trace: stack.broker.trace.entries(),
              totalSeconds: (performance.now() - started) / 1000,
            }),
          );
          return results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failed;
        } finally {
          await stack.stop();
        }
      }),
    );
};
