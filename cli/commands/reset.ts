import type { Command } from 'commander';
import { containerName, namespaceName, podName } from '../../functions/lib/events/index.ts';
import { action, CliError, cliStore, ExitCode } from '../context.ts';

function parseContainer(value: string) {
  const [namespace, pod, container, ...rest] = value.split('/');
  const ok =
    rest.length === 0 &&
    namespaceName.safeParse(namespace).success &&
    podName.safeParse(pod).success &&
    containerName.safeParse(container).success;
  if (!ok)
    throw new CliError(`--container must be <namespace>/<pod>/<container>, got "${value}"`, ExitCode.usage);
  return `${namespace}/${pod}/${container}`;
}

export function registerReset(program: Command) {
  program
    .command('reset')
    .description('turn per-container switches back on, so those containers can be dumped again')
    .option('--container <ns/pod/container>', 'only this container (default: all)')
    .action(
      action(async (options: { container?: string }) => {
        const store = cliStore();
        if (!options.container) {
          console.log(`reset ${await store.switches.reset()} container switch(es)`);
          return undefined;
        }
        const wanted = parseContainer(options.container);
        // Switches are keyed by pod uid; the dump record that turned each one off names its container.
        const dumped = await store.switches.listDumped();
        const records = await Promise.all(dumped.map((d) => store.records.getDump(d.dumpId)));
        const matches = dumped.filter((_, i) => records[i]?.target === wanted);
        let count = 0;
        for (const match of matches) count += await store.switches.reset(match);
        if (count === 0) throw new CliError(`no dumped switch found for ${wanted}`, ExitCode.failed);
        console.log(`reset ${count} switch(es) for ${wanted}`);
        return undefined;
      }),
    );
}
