import { createKubernetes, loadKubeConfig } from '../../adapters/kubernetes/index.ts';
import { storeFromConfig } from '../../adapters/redis-store/index.ts';
import { defineModule } from '../lib/runtime.ts';
import { uploadDumpConfig } from './config.ts';
import { createUploadDump } from './handler.ts';
import { meta } from './meta.ts';
import { sinkFromConfig } from './sink.ts';

const MiB = 1024 * 1024;

/** KUBECONFIG names a kubeconfig file in development; in a cluster the service account is used. */
const module = defineModule({
  meta,
  config: uploadDumpConfig,
  create: async (env, { log, events }) => {
    const kubeTimeoutMs = env.HEAPDUMP_KUBE_TIMEOUT_SECONDS * 1000;
    const store = storeFromConfig(env);
    return createUploadDump({
      store,
      leases: store.pools,
      kube: createKubernetes(loadKubeConfig(), { requestTimeoutMs: kubeTimeoutMs }),
      sink: await sinkFromConfig(env),
      events,
      log,
      layout: {
        prefix: env.HEAPDUMP_STORAGE_PREFIX,
        gzipLevel: env.UPLOAD_GZIP_LEVEL === 0 ? null : env.UPLOAD_GZIP_LEVEL,
        segmentBytes: env.UPLOAD_SEGMENT_MIB * MiB,
      },
      settings: {
        bytesPerSecond: env.UPLOAD_RATE_MBPS === 0 ? null : (env.UPLOAD_RATE_MBPS * 1_000_000) / 8,
        sliceMs: env.UPLOAD_SLICE_SECONDS * 1000,
        parallelism: env.UPLOAD_GZIP_PARALLELISM,
      },
      podFiles: { defaultDumpDir: env.HEAPDUMP_DUMP_DIR, execTimeoutMs: kubeTimeoutMs },
    });
  },
});

export const init = module.init;
export const handle = module.handle;
