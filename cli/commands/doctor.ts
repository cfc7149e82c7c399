import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, CliError, ExitCode } from '../context.ts';
import type { DoctorOptions } from '../doctor/index.ts';
import type { RegisterCommand } from './index.ts';

interface DoctorFlags {
  kubeconfig?: string;
  context?: string;
  redisUrl?: string;
  redisToken?: string;
  sftp?: string;
  sftpHostKey?: string;
  timeout: string;
  json?: boolean;
}

const help = `
Read-only: it only reads objects and asks SubjectAccessReviews. Checks, one line each (✓ pass, ✗ fail
with a "fix:" line, - skipped):
  Knative Serving and Eventing CRDs and versions; the Broker, every Trigger of eventing/ (Ready, subscriber
  and dead-letter sink resolved), the ApiServerSource, PingSource and SinkBindings; the ApiServerSource's
  ServiceAccount may get/list/watch pods in every opted-in namespace (label heapdump.dev/enabled=true);
  each function's ServiceAccount may make the calls its meta.ts declares there; the Secrets each func.yaml
  mounts hold the keys its *_FILE variables read; with the Prometheus Operator, a running Prometheus and
  Alertmanager pick up our PrometheusRule and AlertmanagerConfigs; Redis answers PING (--redis-url,
  --redis-token); the SFTP server presents the pinned host key (--sftp, --sftp-host-key).
Run it from a checkout of the project (it renders eventing/ with kubectl kustomize). It uses the kubeconfig
(KUBECONFIG or ~/.kube/config, not the dev stack's env file). Exit codes: 0 all passed, 1 a check failed.
Its tests run it against the project's Kubernetes API emulator: that checks our reading of the APIs, not a
real cluster.`;

/** `heapdump doctor`: a read-only preflight of the current cluster. */
export const registerDoctor: RegisterCommand = (program: Command) => {
  program
    .command('doctor')
    .description("check a cluster's preconditions for knative-heapdump, read-only")
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--redis-url <url>', 'Redis REST endpoint to PING (default: REDIS_REST_URL)')
    .option('--redis-token <token>', 'its bearer token (default: REDIS_REST_TOKEN)')
    .option(
      '--sftp <host:port>',
      'SFTP server whose host key to check (e.g. a port-forward of svc/heapdump-sftp)',
    )
    .option('--sftp-host-key <file|key>', 'the pinned host key: a file (host_key.pub) or the key text itself')
    .option('--timeout <seconds>', 'per request and probe', '10')
    .option('--json', 'machine-readable output: { ok, results: [{ check, outcome, message, fix }] }')
    .addHelpText('after', help)
    .action(
      action(async (flags: DoctorFlags) => {
        const options = doctorOptions(flags, process.env);
        // Loaded on use: client-node alone is ~120 MiB of RSS, which every other command (the emulator
        // among them, whose memory test counts it) would carry.
        const [doctor, { loadKubeConfig }] = await Promise.all([
          import('../doctor/index.ts'),
          import('../../adapters/kubernetes/index.ts'),
        ]);
        const kubeConfig = loadKubeConfig({
          ...process.env,
          KUBECONFIG: flags.kubeconfig ?? process.env.KUBECONFIG,
        });
        if (flags.context) kubeConfig.setCurrentContext(flags.context);
        const report = await doctor.runDoctor(
          {
            cluster: doctor.createClusterReader(kubeConfig, options.timeoutMs),
            loadShipped: () => doctor.loadShipped(),
          },
          options,
        );
        console.log(flags.json ? doctor.reportJson(report) : doctor.formatReport(report));
        return report.ok ? ExitCode.ok : ExitCode.failed;
      }),
    );
};

function doctorOptions(flags: DoctorFlags, env: NodeJS.ProcessEnv): DoctorOptions {
  const timeoutMs = Number(flags.timeout) * 1000;
  if (!(timeoutMs > 0))
    throw new CliError(`--timeout must be a number of seconds, not ${flags.timeout}`, ExitCode.usage);
  const url = flags.redisUrl ?? env.REDIS_REST_URL;
  const token = flags.redisToken ?? env.REDIS_REST_TOKEN;
  if (Boolean(url) !== Boolean(token))
    throw new CliError(
      'give both the Redis REST URL and its token (--redis-url, --redis-token), or neither',
      ExitCode.usage,
    );
  return { timeoutMs, redis: url && token ? { url, token } : undefined, sftp: sftpOption(flags) };
}

function sftpOption(flags: DoctorFlags): DoctorOptions['sftp'] {
  if (!flags.sftp && !flags.sftpHostKey) return undefined;
  const match = /^(.+):(\d+)$/.exec(flags.sftp ?? '');
  if (!match || !flags.sftpHostKey)
    throw new CliError('--sftp <host:port> and --sftp-host-key <file|key> go together', ExitCode.usage);
  const hostKey = existsSync(flags.sftpHostKey) ? readFileSync(flags.sftpHostKey, 'utf8') : flags.sftpHostKey;
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]), hostKey };
}
