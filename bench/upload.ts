import { sha256OfFile } from './lib/files.ts';
import { startSftpBench } from './lib/sftp-bench.ts';
import type { SftpUploadResult } from './lib/sftp-upload-child.ts';

const GiB = 1024 * 1024 * 1024;

/**
 * Uncapped streamed SFTP upload of an incompressible file, no gzip, against OpenSSH's `sftp -b put` of
 * the same file to the same local sshd. Runs alternate (baseline, ours, ...) so load drifts hit both;
 * the best run of each counts. Our upload runs in a child process: peakRssMiB is that process's peak.
 */
export default async function upload(args: string[]) {
  const sizeBytes = Number(args[0] ?? 2) * GiB;
  const runs = Number(args[1] ?? 2);
  const bench = await startSftpBench(sizeBytes);
  try {
    const expected = await sha256OfFile(bench.file);
    const baseline: { seconds: number; cpuSeconds: number }[] = [];
    const ours: SftpUploadResult[] = [];
    for (let run = 0; run < runs; run++) {
      baseline.push(await bench.opensshPut('baseline.bin'));
      const result = await bench.oursPut('ours.bin', { bytesPerSecond: null, gzipLevel: null });
      if (result.rawSha256 !== expected || (await bench.storedSha256('ours.bin')) !== expected) {
        throw new Error('our upload stored different bytes');
      }
      bench.removeStored('ours.bin');
      bench.removeStored('ours.json');
      ours.push(result);
    }
    const baselineSeconds = Math.min(...baseline.map((each) => each.seconds));
    const oursSeconds = Math.min(...ours.map((each) => each.seconds));
    return {
      sizeBytes,
      baselineSeconds,
      oursSeconds,
      throughputRatio: baselineSeconds / oursSeconds,
      peakRssMiB: Math.max(...ours.map((each) => each.peakRssMiB)),
      startRssMiB: Math.max(...ours.map((each) => each.startRssMiB)),
      oursMBps: sizeBytes / oursSeconds / 1e6,
      baselineMBps: sizeBytes / baselineSeconds / 1e6,
      // CPU of the client side alone (sshd excluded): what an upload costs the machine it runs on
      oursCpuSeconds: Math.min(...ours.map((each) => each.cpuSeconds)),
      baselineCpuSeconds: Math.min(...baseline.map((each) => each.cpuSeconds)),
      runs,
      targetThroughputRatio: 1,
      targetPeakRssMiB: 128,
    };
  } finally {
    await bench.stop();
  }
}
