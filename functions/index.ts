/**
 * The single image's entry: `HEAPDUMP_FUNCTION` (set in each function's func.yaml run.envs) picks the
 * function this instance serves.
 */
import { allFunctions } from './lib/functions.ts';
import type { Handler } from './lib/handler.ts';

const name = process.env.HEAPDUMP_FUNCTION ?? '';
if (!allFunctions.some((fn) => fn.name === name)) {
  throw new Error(
    `HEAPDUMP_FUNCTION must name one of ${allFunctions.map((fn) => fn.name).join(', ')}; got "${name}"`,
  );
}
const selected = (await import(`./${name}/index.ts`)) as { init?: () => Promise<void>; handle: Handler };

export const init = selected.init;
export const handle = selected.handle;
