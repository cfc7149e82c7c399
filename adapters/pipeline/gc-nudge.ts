import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: Gc | undefined;

/**
 * Streaming gigabytes allocates fresh Buffers all along the way (file or socket reads, ssh2's packets and
 * their encryption, gzip output). V8 frees a Buffer's memory only when it collects the small JS object
 * holding it, and it lets tens of MiB of such dead buffers pile up first: it watches the JS heap, and these
 * live outside it. A minor GC (scavenge) every few MiB streamed keeps RSS flat; scavenging a young
 * generation of a few MiB takes well under a millisecond.
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
