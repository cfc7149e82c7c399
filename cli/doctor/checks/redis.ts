import { createRedisClient } from '../../../adapters/redis-store/index.ts';
import { type Check, fail, pass, skip, withTimeout } from '../check.ts';

const forward = 'kubectl -n heapdump port-forward svc/heapdump-redis-http 8080:80';

/** The Redis REST endpoint answers a PING with the token, through the client the functions use. */
export const redis: Check = {
  name: 'redis',
  needsCluster: false,
  async run({ options }) {
    if (!options.redis)
      return [
        skip(
          'redis',
          `Redis REST endpoint skipped: pass --redis-url and --redis-token (or set REDIS_REST_URL, REDIS_REST_TOKEN), e.g. after ${forward}`,
        ),
      ];
    const { url, token } = options.redis;
    try {
      const client = createRedisClient({ url, token, retries: 0 });
      const answer = await withTimeout(client.ping(), options.timeoutMs, `PING ${url}`);
      return [pass('redis', `Redis REST endpoint ${url} answers PING with ${answer}`)];
    } catch (error) {
      const message = (error as Error).message;
      const unauthorized = /unauthori[sz]ed|401|403/i.test(message);
      return [
        fail(
          'redis',
          `Redis REST endpoint ${url} did not answer PING: ${message}`,
          unauthorized
            ? "use the token of Secret heapdump/heapdump-redis: kubectl -n heapdump get secret heapdump-redis -o jsonpath='{.data.token}' | base64 -d"
            : `check the URL and that the endpoint runs (kubectl -n heapdump get pods -l app.kubernetes.io/name=heapdump-redis-http); from outside the cluster: ${forward}`,
        ),
      ];
    }
  },
};
