import { PermanentError } from '../../functions/lib/errors.ts';
import { containerName, dumpId, namespaceName, podName } from '../../functions/lib/events/names.ts';

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const MAX_NAME = 1024;

/**
 * Splits a relative object name into path segments, refusing anything that could leave the sink's root:
 * absolute paths, `..`, `.`-prefixed segments, backslashes, empty segments, control characters. Only
 * `[A-Za-z0-9._-]` appear in names, so a name means the same thing on every backend.
 */
export function objectNameSegments(name: string): string[] {
  const segments = name.split('/');
  const bad = segments.find((segment) => !SEGMENT.test(segment));
  if (name.length > MAX_NAME || bad !== undefined) {
    throw new PermanentError(
      `invalid object name ${JSON.stringify(name.slice(0, 200))}: each "/"-separated part must match ` +
        `${SEGMENT} (no "..", no absolute paths, at most ${MAX_NAME} characters)`,
    );
  }
  return segments;
}

/** Checks a name and returns it unchanged, for call sites that only need the check. */
export function checkObjectName(name: string): string {
  objectNameSegments(name);
  return name;
}

/** `20240131T235959Z`: sortable, and free of `:` which some file systems refuse. */
export function compactTimestamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

export interface DumpNameParts {
  /** Configured prefix, e.g. `heapdumps` or `team-a/heapdumps`; may be empty. */
  prefix: string;
  namespace: string;
  pod: string;
  container: string;
  capturedAt: Date;
  dumpId: string;
  gzip: boolean;
}

/** DESIGN section 6: `<prefix>/<namespace>/<pod>/<container>/<UTC timestamp>_<dumpId>.hprof[.gz]`. */
export function dumpObjectName(parts: DumpNameParts): string {
  const path = [
    ...(parts.prefix ? objectNameSegments(parts.prefix) : []),
    namespaceName.parse(parts.namespace),
    podName.parse(parts.pod),
    containerName.parse(parts.container),
    `${compactTimestamp(parts.capturedAt)}_${dumpId.parse(parts.dumpId)}.hprof${parts.gzip ? '.gz' : ''}`,
  ].join('/');
  return checkObjectName(path);
}

/** The metadata document beside a dump: the same name with `.json` for `.hprof[.gz]`. */
export function metadataNameOf(name: string): string {
  const base = name.replace(/\.hprof(\.gz)?$/, '').replace(/\.gz$/, '');
  return checkObjectName(`${base}.json`);
}

/** While an upload is in progress the object lives under this name. */
export function partialNameOf(name: string): string {
  return `${name}.partial`;
}
