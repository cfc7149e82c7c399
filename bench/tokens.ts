import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createRedisClient, createStore } from '../adapters/redis-store/index.ts';
import { percentile } from './lib/report.ts';

/** The bridge runs as its own process, as it would in a cluster, so it does not share our event loop. */
async function startBridgeProcess() {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/redis-bridge/main.ts'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await createInterface({ input: child.stdout })
    [Symbol.asyncIterator]()
    .next()
    .then((r) => [r.value]);
  const { restUrl, token } = JSON.parse(String(line)) as { restUrl: string; token: string };
  return {
    restUrl,
    token,
    stop: () => new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM')),
  };
}

/**
 * Token acquire/release through the REST bridge with the real client: latency, throughput, and an
 * independent count of concurrent holders (violations = moments with more holders than capacity).
 */
export default async function tokens(args: string[]) {
  const contenders = Number(args[0] ?? 200);
  const capacity = Number(args[1] ?? 3);
  const rounds = Number(args[2] ?? 10);
  const holdMs = Number(args[3] ?? 2);
  const bridge = await startBridgeProcess();
  try {
    const store = createStore({
      redis: createRedisClient({ url: bridge.restUrl, token: bridge.token }),
      prefix: `bench-${Date.now()}:`,
      pools: { dump: { capacity } },
    });
    const latencies: number[] = [];
    let holding = 0;
    let maxConcurrentHolders = 0;
    let violations = 0;
    const timed = async <T>(op: () => Promise<T>) => {
      const start = performance.now();
      const result = await op();
      latencies.push(performance.now() - start);
      return result;
    };
    const contender = async (n: number) => {
      for (let round = 0; round < rounds; round++) {
        for (;;) {
          const got = await timed(() =>
            store.pools.acquire([{ pool: 'dump', leaseId: randomUUID() }], {
              dumpId: `bench-${n}-${round}`,
              target: `bench/p${n}/app`,
            }),
          );
          if (!got.ok) {
            // A refused contender backs off as decide-dump would (it queues instead of spinning).
            await new Promise((r) =>
              setTimeout(r, holdMs * (1 + (Math.random() * contenders) / capacity / 4)),
            );
            continue;
          }
          holding++;
          maxConcurrentHolders = Math.max(maxConcurrentHolders, holding);
          if (holding > capacity) violations++;
          await new Promise((r) => setTimeout(r, holdMs));
          holding--;
          await timed(() => store.pools.release(got.leases));
          break;
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: contenders }, (_, n) => contender(n)));
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      contenders,
      capacity,
      operations: latencies.length,
      opsPerSec: Math.round(latencies.length / seconds),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxConcurrentHolders,
      violations,
      targetP99Ms: 10,
      targetOpsPerSec: 1000,
    };
  } finally {
    await bridge.stop();
  }
}
