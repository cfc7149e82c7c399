import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RegisterCommand } from './index.ts';

interface EmulatorFlags {
  pods: string;
  port: string;
  host: string;
  kubeconfig?: string;
  sink?: string;
  sinkSelector?: string;
  tokensDir?: string;
}

/** `heapdump emulator`: the Kubernetes API emulator in the foreground, until SIGINT/SIGTERM. */
export const registerEmulator: RegisterCommand = (program: Command) => {
  program
    .command('emulator')
    .description(
      'run the Kubernetes API emulator: pods from a YAML file as local processes, for kubectl and the functions',
    )
    .requiredOption('--pods <file>', 'YAML file of Pod manifests')
    .option('--port <n>', 'port to listen on (0 picks a free one)', '0')
    .option('--host <address>', 'loopback address to listen on', '127.0.0.1')
    .option('--kubeconfig <path>', 'where to write the admin kubeconfig for kubectl')
    .option('--sink <url>', 'post ApiServerSource CloudEvents for pod changes to this URL')
    .option('--sink-selector <selector>', 'only for pods matching this label selector')
    .option('--tokens-dir <dir>', 'also write one kubeconfig per token (<dir>/<name>.kubeconfig)')
    .action(async (flags: EmulatorFlags) => {
      // Loaded on use: every other command starts faster without the emulator's modules.
      const { startKubeEmulator } = await import('../../dev/kube-emulator/index.ts');
      const emulator = await startKubeEmulator({
        podsFile: resolve(flags.pods),
        port: Number(flags.port),
        host: flags.host,
        kubeconfigPath: flags.kubeconfig ? resolve(flags.kubeconfig) : undefined,
        sink: flags.sink,
        sinkSelector: flags.sinkSelector,
      });
      if (flags.tokensDir)
        for (const name of Object.keys(emulator.tokens))
          await emulator.writeKubeconfig(resolve(flags.tokensDir, `${name}.kubeconfig`), name);
      // One JSON line first, for scripts and tests; then the human hint.
      console.log(
        JSON.stringify({
          url: emulator.url,
          kubeconfig: emulator.kubeconfigPath,
          isolation: emulator.isolation,
          pid: process.pid,
        }),
      );
      console.error(`kube emulator at ${emulator.url}\n  export KUBECONFIG=${emulator.kubeconfigPath}`);
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void emulator.stop().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
};
