import { guarded } from './client.ts';
import type { StoreContext } from './context.ts';

export interface DumpedSwitch {
  uid: string;
  container: string;
  dumpId: string;
}

/** `switchMs`: how long a container's switch stays off after its dump (a pod uid never comes back). */
export function createSwitches(ctx: StoreContext, options: { switchMs: number }) {
  const { keys, redis } = ctx;

  const scanDumped = async (): Promise<string[]> => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await guarded('scan switches', () =>
        redis.scan(cursor, { match: keys.dumpedPattern, count: 500 }),
      );
      found.push(...batch);
      cursor = String(next);
    } while (cursor !== '0');
    return found;
  };

  return {
    /** The central on/off switch; unset means on. */
    async isGlobalOn(): Promise<boolean> {
      return (await guarded('global switch', () => redis.get<string>(keys.globalSwitch))) !== 'off';
    },
    async setGlobal(on: boolean): Promise<void> {
      await guarded('global switch', () => redis.set(keys.globalSwitch, on ? 'on' : 'off'));
    },

    /** The per-container switch: off once that container (pod uid + name) has been dumped. */
    async dumpedBy(uid: string, container: string): Promise<string | null> {
      return guarded('dumped switch', () => redis.get<string>(keys.dumped(uid, container)));
    },
    async markDumped(uid: string, container: string, dumpId: string): Promise<void> {
      await guarded('dumped switch', () =>
        redis.set(keys.dumped(uid, container), dumpId, { px: options.switchMs }),
      );
    },

    async listDumped(): Promise<DumpedSwitch[]> {
      const found = await scanDumped();
      if (found.length === 0) return [];
      const values = await guarded('dumped switch', () => redis.mget<(string | null)[]>(...found));
      return found.map((key, i) => {
        const [uid = '', container = ''] = key.slice(keys.dumpedPrefix.length).split(':');
        return { uid, container, dumpId: values[i] ?? '' };
      });
    },

    /** Turns the per-container switch back on for one container, or for all; returns how many were reset. */
    async reset(which?: { uid: string; container: string }): Promise<number> {
      const targets = which ? [keys.dumped(which.uid, which.container)] : await scanDumped();
      if (targets.length === 0) return 0;
      return guarded('reset switches', () => redis.del(...targets));
    },
  };
}
