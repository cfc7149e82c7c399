import { describe, expect, it } from 'vitest';
import { mapOrdered } from './ordered-map.ts';

/** A map whose calls finish only when the test says, so overlap is observed, not timed. */
function controlledMap() {
  const running = new Map<number, () => void>();
  let maxRunning = 0;
  return {
    running,
    maxRunning: () => maxRunning,
    map: (item: number) =>
      new Promise<number>((resolve) => {
        running.set(item, () => {
          running.delete(item);
          resolve(item * 10);
        });
        maxRunning = Math.max(maxRunning, running.size);
      }),
    finish: (item: number) => running.get(item)!(),
  };
}

async function* counting(n: number, pulled: number[]) {
  for (let i = 0; i < n; i++) {
    pulled.push(i);
    yield i;
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('mapOrdered', () => {
  it('yields in input order whatever order the maps finish in', async () => {
    const delays = [30, 5, 20, 1, 10, 0];
    const results: number[] = [];
    for await (const r of mapOrdered(counting(6, []), 3, async (i) => {
      await new Promise((resolve) => setTimeout(resolve, delays[i]));
      return i * 10;
    })) {
      results.push(r);
    }
    expect(results).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('keeps `concurrency` maps running while the consumer works on a result, and pulls no further', async () => {
    const pulled: number[] = [];
    const control = controlledMap();
    const results = mapOrdered(counting(10, pulled), 2, control.map);
    const first = results.next();
    await tick();
    expect([...control.running.keys()]).toEqual([0, 1]);
    control.finish(0);
    expect((await first).value).toBe(0);
    // The consumer holds result 0: items 1 and 2 are being mapped, nothing more is pulled.
    await tick();
    expect([...control.running.keys()]).toEqual([1, 2]);
    expect(pulled).toEqual([0, 1, 2]);
    control.finish(2);
    control.finish(1);
    expect((await results.next()).value).toBe(10);
    expect((await results.next()).value).toBe(20);
    expect(pulled).toEqual([0, 1, 2, 3, 4]);
    expect(control.maxRunning()).toBe(2);
    await results.return(undefined);
  });

  it('passes a failed map on in its place and closes the source', async () => {
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    const seen: number[] = [];
    const consume = async () => {
      for await (const r of mapOrdered(source(), 2, async (i) => {
        if (i === 3) throw new Error('block 3 failed');
        return i;
      })) {
        seen.push(r);
      }
    };
    await expect(consume()).rejects.toThrow('block 3 failed');
    expect(seen).toEqual([0, 1, 2]);
    expect(closed).toBe(true);
  });
});
