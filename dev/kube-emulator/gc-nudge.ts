import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | undefined;

/**
 * Streaming a command's output allocates a fresh Buffer for every pipe read. V8 frees their memory only when
 * it collects the small JS objects holding them, and it lets tens of MiB of such dead buffers pile up before
 * it does (it watches heap size, and these live outside the heap). A scavenge every few MiB streamed keeps
 * the emulator's RSS flat; a scavenge of a young generation of a few MiB costs well under a millisecond.
 */
export function createGcNudge(everyBytes = 4 << 20): (bytes: number) => void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
  }
  const collect = gc;
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < everyBytes) return;
    since = 0;
    collect({ type: 'minor' });
  };
}
