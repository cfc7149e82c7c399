/**
 * Runs one upload of a local file to SFTP in its own process, so the benchmark can measure this process's
 * peak RSS alone. Reads a JSON job from argv[2]; prints a JSON result line on stdout.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { uploadStream } from '../../adapters/pipeline/upload.ts';
import { createSftpSink } from '../../adapters/storage/sftp-sink.ts';

export interface SftpUploadJob {
  file: string;
  sizeBytes: number;
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  knownHostsPath: string;
  root: string;
  name: string;
  /** Cap on stored bytes per second, or null for none. */
  bytesPerSecond: number | null;
  gzipLevel: number | null;
  maxInFlightBytes?: number;
}

export interface SftpUploadResult {
  seconds: number;
  storedBytes: number;
  rawSha256: string;
  peakRssMiB: number;
  /** RSS with everything loaded, before the upload starts: the part of the peak that is not the upload's. */
  startRssMiB: number;
  /** CPU time (user + system) this process spent, in seconds. */
  cpuSeconds: number;
}

const job = JSON.parse(process.argv[2]!) as SftpUploadJob;
const sink = createSftpSink({
  host: job.host,
  port: job.port,
  username: job.user,
  privateKey: readFileSync(job.privateKeyPath, 'utf8'),
  hostKey: readFileSync(job.knownHostsPath, 'utf8'),
  root: job.root,
  maxInFlightBytes: job.maxInFlightBytes,
});
const startRssMiB = process.memoryUsage().rss / 1024 / 1024;
const started = performance.now();
const outcome = await uploadStream({
  sink,
  name: job.name,
  openSource: (offset) => createReadStream(job.file, { start: offset, highWaterMark: 1024 * 1024 }),
  totalRawBytes: job.sizeBytes,
  gzipLevel: job.gzipLevel,
  bytesPerSecond: job.bytesPerSecond,
});
const seconds = (performance.now() - started) / 1000;
await sink.close();
if (!outcome.done) throw new Error('upload stopped without a budget');
const result: SftpUploadResult = {
  seconds,
  storedBytes: outcome.summary.storedBytes,
  rawSha256: outcome.summary.rawSha256,
  // ru_maxrss: the high-water mark of this process's resident set, in KiB
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  startRssMiB,
  cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
};
console.log(JSON.stringify(result));
