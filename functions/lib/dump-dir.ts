import { z } from 'zod';

/** Pod annotation naming the directory the JVM writes dumps to; exec-dump writes there, upload-dump reads. */
export const DUMP_DIR_ANNOTATION = 'heapdump.dev/dump-dir';

export const noDotDot = (path: string) => !path.split('/').includes('..');

/**
 * An absolute directory (not `/`) of plain characters, without a trailing slash: it reaches argv and file
 * names, and `..` could leave the volume.
 */
export const dumpDirSchema = z
  .string()
  .max(1024)
  .regex(
    /^(\/[A-Za-z0-9._-]+)+\/?$/,
    'must be an absolute path (not /) of letters, digits, ".", "_", "-" and "/"',
  )
  .refine(noDotDot, 'must not contain ".."')
  .transform((dir) => dir.replace(/\/$/, ''));
