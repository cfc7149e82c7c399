import { z } from 'zod';
import { checkObjectName } from '../../adapters/storage/object-name.ts';
import { redisConfig } from '../lib/config.ts';

function isObjectName(prefix: string): boolean {
  try {
    return prefix === '' || checkObjectName(prefix) === prefix;
  } catch {
    return false;
  }
}

const optionalText = z.string().min(1).optional();
const absoluteDir = z
  .string()
  .regex(/^\/[A-Za-z0-9._/-]*$/, 'must be an absolute path of safe characters')
  .refine((dir) => !dir.split('/').includes('..'), 'must not contain ".."');

/**
 * upload-dump's environment. Secrets (`SFTP_PRIVATE_KEY`, `SFTP_HOST_KEY`, `AZURE_STORAGE_CONNECTION_STRING`,
 * `AZURE_STORAGE_SAS_URL`) usually arrive as `<NAME>_FILE`, a mounted Secret.
 */
export const uploadDumpConfig = redisConfig
  .extend({
    HEAPDUMP_STORAGE: z.enum(['file', 'sftp', 'azure']).default('file'),
    /** First part of every object name: `<prefix>/<namespace>/<pod>/<container>/<ts>_<dumpId>.hprof.gz`. */
    HEAPDUMP_STORAGE_PREFIX: z
      .string()
      .default('')
      .refine(isObjectName, 'must be a relative object name of [A-Za-z0-9._-] parts, no ".."'),
    /** file: the mounted volume dumps go to. */
    HEAPDUMP_FILE_ROOT: optionalText,
    SFTP_HOST: optionalText,
    SFTP_PORT: z.coerce.number().int().min(1).max(65_535).default(22),
    SFTP_USER: optionalText,
    SFTP_PRIVATE_KEY: optionalText,
    SFTP_PRIVATE_KEY_PASSPHRASE: optionalText,
    /** The server's host key, pinned: a fingerprint, a public key or known_hosts lines. */
    SFTP_HOST_KEY: optionalText,
    /** Directory on the server, absolute or relative to where the SFTP session starts. */
    SFTP_ROOT: z.string().min(1).default('.'),
    AZURE_STORAGE_CONNECTION_STRING: optionalText,
    AZURE_STORAGE_CONTAINER: optionalText,
    /** A container URL with a SAS token, instead of a connection string. */
    AZURE_STORAGE_SAS_URL: z.url().optional(),
    /** Cap per upload on stored bytes, in Mbit/s (the seed's `sftp -l 204800` is 200); 0 for none. */
    UPLOAD_RATE_MBPS: z.coerce.number().nonnegative().default(200),
    /** A request ends after this long with a checkpoint and upload.progressed (Knative's timeout is 300 s). */
    UPLOAD_SLICE_SECONDS: z.coerce.number().positive().default(240),
    /** zlib level of the gzip members; 0 stores the dump as it is. */
    UPLOAD_GZIP_LEVEL: z.coerce.number().int().min(0).max(9).default(1),
    /**
     * Blocks gzipped at once; default the CPUs of the container's cgroup quota (at least 2). Memory caps it
     * either way: at most 32 MiB of blocks in flight.
     */
    UPLOAD_GZIP_PARALLELISM: z.coerce.number().int().positive().optional(),
    /** Raw bytes per committed segment: the unit of resume. */
    UPLOAD_SEGMENT_MIB: z.coerce.number().int().positive().default(64),
    /** Where dumps live in a pod that has no `heapdump.dev/dump-dir` annotation. */
    HEAPDUMP_DUMP_DIR: absoluteDir.default('/dumps'),
    HEAPDUMP_KUBE_TIMEOUT_SECONDS: z.coerce.number().positive().default(15),
  })
  .superRefine((config, ctx) => {
    const need = (names: (keyof typeof config)[], why: string) => {
      for (const name of names) {
        if (config[name] === undefined)
          ctx.addIssue({ code: 'custom', path: [name], message: `missing (${why})` });
      }
    };
    if (config.HEAPDUMP_STORAGE === 'file') need(['HEAPDUMP_FILE_ROOT'], 'HEAPDUMP_STORAGE=file');
    if (config.HEAPDUMP_STORAGE === 'sftp') {
      need(['SFTP_HOST', 'SFTP_USER', 'SFTP_PRIVATE_KEY', 'SFTP_HOST_KEY'], 'HEAPDUMP_STORAGE=sftp');
    }
    if (config.HEAPDUMP_STORAGE === 'azure' && !config.AZURE_STORAGE_SAS_URL) {
      need(
        ['AZURE_STORAGE_CONNECTION_STRING', 'AZURE_STORAGE_CONTAINER'],
        'HEAPDUMP_STORAGE=azure without a SAS URL',
      );
    }
  });
export type UploadDumpConfig = z.infer<typeof uploadDumpConfig>;
