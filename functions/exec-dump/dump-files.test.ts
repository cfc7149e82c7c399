import { describe, expect, it } from 'vitest';
import { dumpFileName, formatOf, isDumpOf, isJvmWrittenDump, looksComplete } from './dump-files.ts';
import type { PodFile } from './pod-commands.ts';

const file = (name: string): PodFile => ({ name, path: `/dumps/${name}`, bytes: 1, mtime: 1 });
const dumpId = '3d6e1f2a-4b5c-4d7e-8f9a-0b1c2d3e4f5a';

describe('names', () => {
  it('are <UTC ts>_<dumpId>.hprof[.gz]', () => {
    const at = new Date('2026-11-23T10:15:00.123Z');
    expect(dumpFileName(dumpId, at, false)).toBe(`20261123T101500Z_${dumpId}.hprof`);
    expect(dumpFileName(dumpId, at, true)).toBe(`20261123T101500Z_${dumpId}.hprof.gz`);
  });

  it('tell this dump’s files (any attempt, partial fetches too) from others and from JVM-written ones', () => {
    const ours = isDumpOf(dumpId);
    expect(ours(file(`20261123T101500Z_${dumpId}.hprof`))).toBe(true);
    expect(ours(file(`20261124T000000Z_${dumpId}.hprof.gz`))).toBe(true);
    expect(ours(file(`20261124T000000Z_${dumpId}.hprof.part`))).toBe(true);
    expect(ours(file(`20261123T101500Z_${dumpId}0.hprof`))).toBe(false);
    expect(ours(file('java_pid7.hprof'))).toBe(false);
    expect(isJvmWrittenDump(file('java_pid7.hprof'))).toBe(true);
    expect(isJvmWrittenDump(file('oom.hprof.gz'))).toBe(true);
    expect(isJvmWrittenDump(file(`20261123T101500Z_${dumpId}.hprof`))).toBe(false);
    expect(isJvmWrittenDump(file('notes.txt'))).toBe(false);
  });
});

describe('content checks', () => {
  const header = Buffer.from('JAVA PROFILE 1.0.2\0');
  const end = Buffer.of(0x2c, 0, 0, 0, 5, 0, 0, 0, 0);

  it('know HPROF and gzip by their first bytes', () => {
    expect(formatOf(header)).toBe('hprof');
    expect(formatOf(Buffer.of(0x1f, 0x8b, 8))).toBe('gzip');
    expect(formatOf(Buffer.from('<html>'))).toBe('unknown');
  });

  it('take a raw HPROF as complete only when it ends with HEAP DUMP END', () => {
    expect(looksComplete('hprof', end)).toBe(true);
    expect(looksComplete('hprof', Buffer.of(0x1c, 0, 0, 0, 5, 0, 0, 0, 0))).toBe(false);
    expect(looksComplete('hprof', Buffer.of(0x2c, 0, 0, 0, 5, 0, 0, 1, 0))).toBe(false);
    expect(looksComplete('hprof', end.subarray(1))).toBe(false);
    expect(looksComplete('unknown', end)).toBe(false);
  });
});
