import type { StorageBackend } from './storage.ts';

/**
 * What `.heapdump/dev/env` holds: the names cli/context.ts reads (and curl, kubectl and shells can source
 * with `set -a; . .heapdump/dev/env`).
 */
export function devEnvLines(stack: {
  brokerUrl: string;
  kubeconfig: string;
  redis: { restUrl: string; token: string };
  traceFile: string;
  keyPrefix: string;
  alertBridge?: { url: string; token: string };
  storage: StorageBackend;
}): Record<string, string> {
  return {
    HEAPDUMP_BROKER_URL: stack.brokerUrl,
    KUBECONFIG: stack.kubeconfig,
    REDIS_REST_URL: stack.redis.restUrl,
    REDIS_REST_TOKEN: stack.redis.token,
    HEAPDUMP_TRACE_FILE: stack.traceFile,
    HEAPDUMP_KEY_PREFIX: stack.keyPrefix,
    HEAPDUMP_STORAGE_LOCATION: stack.storage.location,
    ...(stack.alertBridge
      ? { HEAPDUMP_ALERT_BRIDGE_URL: stack.alertBridge.url, ALERT_BRIDGE_TOKEN: stack.alertBridge.token }
      : {}),
  };
}
