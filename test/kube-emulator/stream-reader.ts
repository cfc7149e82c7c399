/**
 * A separate process for the memory test: streams `head -c <bytes> /dev/zero` out of a pod through the
 * adapter's execStream into a deliberately slow consumer, then prints its byte count and its RSS before and
 * during the stream (sampled every 50 ms) as JSON.
 * Usage: tsx stream-reader.ts <kubeconfig> <namespace> <pod> <container> <bytes> <bytes per 10 ms>
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKubernetes, loadKubeConfig } from '../../adapters/kubernetes/index.ts';

const [kubeconfig, namespace, pod, container, bytes, rate] = process.argv.slice(2);
const kube = createKubernetes(loadKubeConfig({ KUBECONFIG: kubeconfig }));
const rssNow = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
const baselineRssBytes = rssNow();
let peakRssBytes = baselineRssBytes;
const sampler = setInterval(() => {
  peakRssBytes = Math.max(peakRssBytes, rssNow());
}, 50);
const started = Date.now();
const stream = kube.execStream({ namespace: namespace!, pod: pod!, container: container! }, [
  'head',
  '-c',
  bytes!,
  '/dev/zero',
]);
let received = 0;
let sinceNap = 0;
await pipeline(
  stream.stdout,
  new Writable({
    highWaterMark: 1 << 20,
    async write(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      sinceNap += chunk.length;
      if (sinceNap >= Number(rate)) {
        sinceNap = 0;
        await sleep(10);
      }
      callback();
    },
  }),
);
const { exitCode } = await stream.done;
clearInterval(sampler);
const seconds = (Date.now() - started) / 1000;
console.log(JSON.stringify({ received, exitCode, baselineRssBytes, peakRssBytes, seconds }));
