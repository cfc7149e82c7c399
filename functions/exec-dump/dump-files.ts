import { setTimeout as sleep } from 'node:timers/promises';
import type { DumpFile } from '../lib/events/index.ts';
import type { PodCommands, PodFile } from './pod-commands.ts';

const HPROF_HEADER = Buffer.from('JAVA PROFILE 1.0.2\0');
/** A complete dump ends with HEAP DUMP END: tag 0x2C, a 4-byte time, a 4-byte length of 0. */
const HEAP_DUMP_END = 0x2c;
const GZIP_MAGIC = Buffer.of(0x1f, 0x8b);

/** `20261123T111000Z`: sortable, and only characters that are safe in paths and storage keys. */
export function utcStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** `<UTC ts>_<dumpId>.hprof[.gz]`: unique per attempt, and a retry finds it by the dumpId. */
export function dumpFileName(dumpId: string, at: Date, gzip: boolean): string {
  return `${utcStamp(at)}_${dumpId}.hprof${gzip ? '.gz' : ''}`;
}

const liveDumpName = /^\d{8}T\d{6}Z_[a-z0-9-]+\.hprof(\.gz)?(\.part)?$/;

/** A file this function wrote (or is writing) for this dump, by any earlier attempt. */
export const isDumpOf = (dumpId: string) => (file: PodFile) =>
  liveDumpName.test(file.name) && file.name.includes(`Z_${dumpId}.hprof`);

/** A dump a JVM wrote on its own (HeapDumpOnOutOfMemoryError): any .hprof that is not one of our live dumps. */
export const isJvmWrittenDump = (file: PodFile) =>
  /\.hprof(\.gz)?$/.test(file.name) && !liveDumpName.test(file.name);

export const isPartial = (file: PodFile) => file.name.endsWith('.part');

export interface FileCheck {
  /** Not growing, and starting (and for raw HPROF ending) as a heap dump does. */
  complete: PodFile[];
  /** Still being written: its size or time changed while we watched. */
  growing: PodFile[];
  /** Not growing, but cut short or not a heap dump. */
  broken: PodFile[];
}

export type DumpFormat = 'hprof' | 'gzip' | 'unknown';

/** What the first bytes say the file is. */
export function formatOf(head: Buffer): DumpFormat {
  if (head.subarray(0, HPROF_HEADER.length).equals(HPROF_HEADER)) return 'hprof';
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return 'gzip';
  return 'unknown';
}

/** A raw HPROF ends with a HEAP DUMP END record; a gzip stream has no end marker we can read cheaply. */
export function looksComplete(format: DumpFormat, tail: Buffer): boolean {
  if (format === 'gzip') return true;
  if (format !== 'hprof' || tail.length !== 9) return false;
  return tail[0] === HEAP_DUMP_END && tail.readUInt32BE(5) === 0;
}

/**
 * Sorts the files in `dir` chosen by `wanted` into complete, growing and broken. With `settleMs`, the dir is
 * listed twice that far apart and a file whose size or time moved is growing (a JVM or a fetch still writing).
 */
export async function checkFiles(
  pod: PodCommands,
  dir: string,
  wanted: (file: PodFile) => boolean,
  settleMs: number,
): Promise<FileCheck & { missingDir: boolean }> {
  const first = await pod.listFiles(dir);
  const result: FileCheck & { missingDir: boolean } = {
    complete: [],
    growing: [],
    broken: [],
    missingDir: first === null,
  };
  const candidates = (first ?? []).filter(wanted);
  if (candidates.length === 0) return result;
  let second = candidates;
  if (settleMs > 0) {
    await sleep(settleMs);
    second = ((await pod.listFiles(dir)) ?? []).filter(wanted);
  }
  for (const before of candidates) {
    const after = second.find((file) => file.name === before.name);
    if (!after) continue; // moved away meanwhile (uploaded, renamed): not ours to report
    if (after.bytes !== before.bytes || after.mtime !== before.mtime) {
      result.growing.push(after);
      continue;
    }
    if (isPartial(after)) {
      result.broken.push(after);
      continue;
    }
    const edges = await pod.edges(after.path, HPROF_HEADER.length, 9);
    result[looksComplete(formatOf(edges.head), edges.tail) ? 'complete' : 'broken'].push(after);
  }
  return result;
}

export const asDumpFiles = (files: PodFile[]): DumpFile[] =>
  files.map((file) => ({ path: file.path, bytes: file.bytes }));
