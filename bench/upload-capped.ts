import { startSftpBench } from './lib/sftp-bench.ts';

const MiB = 1024 * 1024;

/**
 * Upload capped at 200 Mbit/s (stored bytes, as the seed's `sftp -l`): the rate achieved over the whole
 * upload against the cap. OpenSSH's `sftp -l` of the same file in the same run is the reference.
 */
export default async function uploadCapped(args: string[]) {
  const capMbps = Number(args[0] ?? 200);
  const sizeBytes = Number(args[1] ?? 512) * MiB;
  const bench = await startSftpBench(sizeBytes);
  try {
    const ours = await bench.oursPut('capped.bin', {
      bytesPerSecond: (capMbps * 1e6) / 8,
      gzipLevel: null,
    });
    const { seconds: baselineSeconds } = await bench.opensshPut('baseline.bin', capMbps * 1000);
    const achievedMbps = (ours.storedBytes * 8) / ours.seconds / 1e6;
    const baselineMbps = (sizeBytes * 8) / baselineSeconds / 1e6;
    return {
      capMbps,
      sizeBytes,
      achievedMbps,
      errorPct: ((achievedMbps - capMbps) / capMbps) * 100,
      baselineMbps,
      baselineErrorPct: ((baselineMbps - capMbps) / capMbps) * 100,
      peakRssMiB: ours.peakRssMiB,
      targetAbsErrorPct: 5,
    };
  } finally {
    await bench.stop();
  }
}
