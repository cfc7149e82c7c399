import type { Command } from 'commander';
import type { RegisterCommand } from './index.ts';

export const registerDemo: RegisterCommand = (program: Command) => {
  program.command('demo').description('placeholder');
};
