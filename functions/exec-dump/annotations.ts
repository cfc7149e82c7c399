import { z } from 'zod';
import { DUMP_DIR_ANNOTATION, dumpDirSchema, noDotDot } from '../lib/dump-dir.ts';
import { describeZodError, PermanentError } from '../lib/errors.ts';

export const Annotations = {
  strategy: 'heapdump.dev/strategy',
  dumpDir: DUMP_DIR_ANNOTATION,
  pid: 'heapdump.dev/pid',
  gzipLevel: 'heapdump.dev/gzip-level',
  httpPort: 'heapdump.dev/http-port',
  httpPath: 'heapdump.dev/http-path',
} as const;

const httpPath = z
  .string()
  .max(1024)
  .regex(/^\/[A-Za-z0-9._~/-]*$/, 'must be a path of letters, digits, ".", "_", "~", "-" and "/"')
  .refine(noDotDot, 'must not contain ".."');

const positiveInt = (max: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive whole number')
    .transform(Number)
    .refine((n) => n <= max, `must be at most ${max}`);

const PodAnnotations = z.object({
  [Annotations.strategy]: z.enum(['jcmd', 'collect', 'http']).default('jcmd'),
  [Annotations.dumpDir]: dumpDirSchema.default('/dumps'),
  [Annotations.pid]: positiveInt(2 ** 31 - 1).optional(),
  [Annotations.gzipLevel]: positiveInt(9).optional(),
  [Annotations.httpPort]: positiveInt(65_535).default(8080),
  [Annotations.httpPath]: httpPath.default('/actuator/heapdump'),
});

export type Strategy = 'jcmd' | 'collect' | 'http';

/** How to take this pod's dump, from its annotations, every value checked before anything runs in the pod. */
export interface DumpPlan {
  strategy: Strategy;
  dumpDir: string;
  pid?: number;
  gzipLevel?: number;
  http: { port: number; path: string };
}

/**
 * Reads the heapdump.dev annotations. A value that does not pass is the pod owner's to fix, so it is a 422
 * naming the annotation, before a single exec. A restart (mode `collect`) always collects: the JVM that
 * wrote the dump is gone.
 */
export function planFrom(
  annotations: Record<string, string> | undefined,
  mode: 'live' | 'collect',
): DumpPlan {
  const parsed = PodAnnotations.safeParse(annotations ?? {});
  if (!parsed.success)
    throw new PermanentError(
      `the pod's heapdump.dev annotations are invalid: ${describeZodError(parsed.error)}`,
    );
  const values = parsed.data;
  return {
    strategy: mode === 'collect' ? 'collect' : values[Annotations.strategy],
    dumpDir: values[Annotations.dumpDir],
    pid: values[Annotations.pid],
    gzipLevel: values[Annotations.gzipLevel],
    http: { port: values[Annotations.httpPort], path: values[Annotations.httpPath] },
  };
}
