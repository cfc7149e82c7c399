/**
 * Applies an async `map` to up to `concurrency` items at once and yields the results in input order.
 * Items are pulled from `source` only as results are consumed, so a slow consumer slows the source
 * (backpressure) and at most `concurrency` items are held.
 */
export async function* mapOrdered<T, R>(
  source: AsyncIterable<T>,
  concurrency: number,
  map: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const pending: Promise<R>[] = [];
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && pending.length < concurrency) {
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const mapped = map(next.value);
        mapped.catch(() => {}); // awaited in order below; must not count as unhandled meanwhile
        pending.push(mapped);
      }
      const head = pending.shift();
      if (!head) return;
      yield await head;
    }
  } finally {
    await iterator.return?.();
  }
}
