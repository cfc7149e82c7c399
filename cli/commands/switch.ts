import type { Command } from 'commander';
import { action, CliError, cliStore, ExitCode } from '../context.ts';

export function registerSwitch(program: Command) {
  program
    .command('switch')
    .description('turn all heap dumps on or off (the central switch)')
    .argument('<state>', 'on | off')
    .action(
      action(async (state: string) => {
        if (state !== 'on' && state !== 'off')
          throw new CliError('state must be "on" or "off"', ExitCode.usage);
        await cliStore().switches.setGlobal(state === 'on');
        console.log(`global switch: ${state}`);
        return undefined;
      }),
    );
}
