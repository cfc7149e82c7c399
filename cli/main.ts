#!/usr/bin/env node
/** The `heapdump` command: operators' CLI and the local development runtime. */
import { Command } from 'commander';
import { commands } from './commands/index.ts';

const program = new Command()
  .name('heapdump')
  .description('Event-driven heap dumps for Java services on Kubernetes')
  .showHelpAfterError();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`heapdump: ${(error as Error).message}`);
  process.exitCode = process.exitCode || 1;
}
