import { HTTP } from 'cloudevents';
import type { Command } from 'commander';
import { createEventFactory, EventTypes, type InputOf } from '../../functions/lib/events/index.ts';
import { action, CliError, cliEnv, ExitCode, requireVar } from '../context.ts';

const shellQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

export function registerTrigger(program: Command) {
  program
    .command('trigger')
    .description('ask for a heap dump of a pod now (sends dev.heapdump.dump.requested to the Broker)')
    .argument('<namespace/pod>')
    .option('-c, --container <name>', 'the container (default: annotation or the only one)')
    .option('--force', 'dump even if this container was dumped already')
    .option('--reason <text>', 'why, recorded with the dump', 'manual')
    .option('--broker <url>', 'Broker URL (default: HEAPDUMP_BROKER_URL)')
    .addHelpText(
      'after',
      '\nA Broker locked by an EventPolicy (docs/deploy.md 5a) wants a token: set HEAPDUMP_BROKER_TOKEN, e.g.\n' +
        '  HEAPDUMP_BROKER_TOKEN="$(kubectl -n heapdump create token heapdump-operator --audience <audience>)"',
    )
    .action(
      action(
        async (
          ref: string,
          options: { container?: string; force?: boolean; reason: string; broker?: string },
        ) => {
          const [namespace, pod, ...rest] = ref.split('/');
          if (!namespace || !pod || rest.length)
            throw new CliError('expected <namespace>/<pod>', ExitCode.usage);
          const broker = options.broker ?? requireVar(cliEnv(), 'HEAPDUMP_BROKER_URL', 'the Broker');
          const data: InputOf<typeof EventTypes.dumpRequested> = {
            namespace,
            pod,
            reason: options.reason,
            force: Boolean(options.force),
            ...(options.container ? { container: options.container } : {}),
          };
          let event: ReturnType<ReturnType<typeof createEventFactory>>;
          try {
            event = createEventFactory('cli')(EventTypes.dumpRequested, data);
          } catch (error) {
            throw new CliError((error as Error).message.replace(/^cannot build [^:]+: /, ''), ExitCode.usage);
          }
          const message = HTTP.binary(event);
          const headers = message.headers as Record<string, string>;
          const token = cliEnv().HEAPDUMP_BROKER_TOKEN;
          // The printed curl names the variable, never the token itself.
          const auth = token ? ' -H "Authorization: Bearer $HEAPDUMP_BROKER_TOKEN"' : '';
          console.log(
            `curl -X POST ${shellQuote(broker)}${auth} ${Object.entries(headers)
              .map(([k, v]) => `-H ${shellQuote(`${k}: ${v}`)}`)
              .join(' ')} -d ${shellQuote(String(message.body))}`,
          );
          const response = await fetch(broker, {
            method: 'POST',
            headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers,
            body: message.body as string,
          }).catch((error: Error) => {
            throw new CliError(
              `cannot reach the Broker at ${broker}: ${error.message}`,
              ExitCode.unreachable,
            );
          });
          if (!response.ok)
            throw new CliError(`the Broker answered ${response.status}: ${await response.text()}`);
          console.log(`sent ${event.type} id ${event.id} (trace ${String(event.traceparent).split('-')[1]})`);
          return undefined;
        },
      ),
    );
}
