/**
 * Runs redis-server and the REST bridge as one service: `tsx dev/redis-bridge/main.ts [--port N]`.
 * Prints one JSON line `{restUrl, token, redisUrl}` when ready; stops both on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startRedisServer } from './redis-server.ts';
import { startRedisBridge } from './server.ts';

const { values } = parseArgs({
  options: { port: { type: 'string' }, 'redis-port': { type: 'string' }, token: { type: 'string' } },
});
const token = values.token ?? process.env.REDIS_REST_TOKEN ?? randomBytes(16).toString('hex');
const server = await startRedisServer({
  port: values['redis-port'] ? Number(values['redis-port']) : undefined,
});
const bridge = await startRedisBridge({
  redisUrl: server.url,
  token,
  port: values.port ? Number(values.port) : 0,
});
console.log(JSON.stringify({ restUrl: bridge.url, token, redisUrl: server.url }));

const stop = async () => {
  await bridge.close();
  await server.stop();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
