import { describe, expect, it } from 'vitest';
import { maxHeapOf, parseHeapUsed, parseJcmdList } from './jvm.ts';

/** `jcmd <pid> GC.heap_info` as JDK 17 prints it for each collector (recorded on this machine). */
const heapInfo = {
  g1: ` garbage-first heap   total 65536K, used 3492K [0x00000000fc000000, 0x0000000100000000)
  region size 1024K, 1 young (1024K), 0 survivors (0K)
 Metaspace       used 160K, committed 384K, reserved 1114112K
  class space    used 6K, committed 128K, reserved 1048576K`,
  serial: ` def new generation   total 19648K, used 6201K [0x00000000fc000000, 0x00000000fd550000, 0x00000000fd550000)
  eden space 17472K,  35% used [0x00000000fc000000, 0x00000000fc60e5d8, 0x00000000fd110000)
  from space 2176K,   0% used [0x00000000fd110000, 0x00000000fd110000, 0x00000000fd330000)
 tenured generation   total 43712K, used 1024K [0x00000000fd550000, 0x0000000100000000, 0x0000000100000000)
   the space 43712K,   2% used [0x00000000fd550000, 0x00000000fd550000, 0x00000000fd550200, 0x0000000100000000)
 Metaspace       used 229K, committed 448K, reserved 1114112K`,
  parallel: ` PSYoungGen      total 18944K, used 6062K [0x00000000feb00000, 0x0000000100000000, 0x0000000100000000)
  eden space 16384K, 37% used [0x00000000feb00000,0x00000000ff0ebb18,0x00000000ffb00000)
 ParOldGen       total 44032K, used 0K [0x00000000fc000000, 0x00000000feb00000, 0x00000000feb00000)
  object space 44032K, 0% used [0x00000000fc000000,0x00000000fc000000,0x00000000feb00000)
 Metaspace       used 230K, committed 448K, reserved 1114112K`,
  z: ` ZHeap           used 10M, capacity 64M, max capacity 64M
 Metaspace       used 234K, committed 448K, reserved 1114112K`,
  shenandoah: `Shenandoah Heap
 65536K max, 65536K soft max, 65536K committed, 5632K used
 256 x 256K regions
Status: not cancelled

 Metaspace       used 199K, committed 384K, reserved 1114112K`,
};

describe('parseHeapUsed', () => {
  it.each([
    ['g1', 3492 * 1024],
    ['serial', (6201 + 1024) * 1024],
    ['parallel', 6062 * 1024],
    ['z', 10 * 1024 * 1024],
    ['shenandoah', 5632 * 1024],
  ] as const)('reads the heap in use of %s, leaving Metaspace out', (gc, bytes) => {
    expect(parseHeapUsed(heapInfo[gc])).toBe(bytes);
  });

  it('is null when nothing reads as a size', () => {
    expect(parseHeapUsed('Command not supported')).toBeNull();
  });
});

describe('parseJcmdList', () => {
  it('lists the JVMs without jcmd itself', () => {
    const output =
      '2 Hog 1 3600000\n21 jdk.jcmd/sun.tools.jcmd.JCmd -l\n 57 app.jar --spring.profiles.active=prod\n';
    expect(parseJcmdList(output)).toEqual([
      { pid: 2, mainClass: 'Hog' },
      { pid: 57, mainClass: 'app.jar' },
    ]);
  });

  it('keeps the main class or jar only: arguments may hold secrets, and 422s and logs show what it keeps', () => {
    const output = '9 com.shop.Main --db-password=hunter2 -Dtoken=abc\n';
    expect(parseJcmdList(output)).toEqual([{ pid: 9, mainClass: 'com.shop.Main' }]);
    expect(JSON.stringify(parseJcmdList(output))).not.toContain('hunter2');
  });

  it('keeps a JVM whose details jcmd cannot read', () => {
    expect(parseJcmdList('7 -- process information unavailable\n')).toEqual([{ pid: 7, mainClass: '--' }]);
  });
});

it('maxHeapOf reads -XX:MaxHeapSize from VM.flags', () => {
  expect(maxHeapOf('-XX:InitialHeapSize=67108864 -XX:MaxHeapSize=134217728 -XX:+UseG1GC')).toBe(134217728);
  expect(maxHeapOf('-XX:+UseG1GC')).toBeNull();
});
