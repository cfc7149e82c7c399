/**
 * Applies an async `map` to up to `concurrency` items at once and yields the results in input order.
 * The next item starts as soon as a result is taken, so `concurrency` maps keep running while the consumer
 * works on that result (a consumer waiting on a rate limiter must not leave a core idle). Items are pulled
 * from `source` only as results are consumed, so a slow consumer slows the source (backpressure) and at
 * most `concurrency` + 1 items are held: the one being consumed and those being mapped.
 */
export async function* mapOrdered<T, R>(
  source: AsyncIterable<T>,
  concurrency: number,
  map: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const pending: Promise<R>[] = [];
  let exhausted = false;
  const fill = async () => {
    while (!exhausted && pending.length < concurrency) {
      const next = await iterator.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const mapped = map(next.value);
      mapped.catch(() => {}); // awaited in order below; must not count as unhandled meanwhile
      pending.push(mapped);
    }
  };
  try {
    await fill();
    for (;;) {
      const head = pending.shift();
      if (!head) return;
      const result = await head;
      await fill();
      yield result;
    }
  } finally {
    await iterator.return?.();
  }
}
