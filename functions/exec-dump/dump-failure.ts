import type { ExecResult } from '../../adapters/kubernetes/index.ts';

/**
 * A final outcome of this dump attempt that is not a retry matter: it leaves as a dump.failed reply
 * (stage `exec`), whose leases release-token gives back.
 */
export class DumpFailure extends Error {
  readonly exitCode?: number;
  readonly stderr?: string;
  readonly fileKept: boolean;

  constructor(
    readonly reason: string,
    message: string,
    details: { exitCode?: number; stderr?: string; fileKept?: boolean } = {},
  ) {
    super(message);
    this.name = 'DumpFailure';
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
    this.fileKept = details.fileKept ?? false;
  }

  /** A command that ended badly: its exit code and the tail of what it said (jcmd reports errors on stdout). */
  static fromExec(reason: string, argv: readonly string[], result: ExecResult, fileKept = false) {
    return new DumpFailure(reason, `${argv.slice(0, 3).join(' ')} exited with ${result.exitCode}`, {
      exitCode: result.exitCode,
      stderr: tailOf(result.stderr.trim() || result.stdout.toString('utf8').trim()),
      fileKept,
    });
  }
}

/** The last part of a command's output, as much as an event carries. */
export function tailOf(text: string, max = 2048): string {
  return text.length > max ? `…${text.slice(-(max - 1))}` : text;
}
