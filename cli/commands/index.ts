import type { Command } from 'commander';
import { registerDemo } from './demo.ts';
import { registerDev } from './dev.ts';
import { registerDoctor } from './doctor.ts';
import { registerEmulator } from './emulator.ts';
import { registerList } from './list.ts';
import { registerReset } from './reset.ts';
import { registerStatus } from './status.ts';
import { registerSwitch } from './switch.ts';
import { registerTrace } from './trace.ts';
import { registerTrigger } from './trigger.ts';
import { registerWatch } from './watch.ts';

/** Each command lives in its own module and registers itself on the program. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  registerStatus,
  registerSwitch,
  registerReset,
  registerTrigger,
  registerList,
  registerWatch,
  registerTrace,
  registerDoctor,
  registerEmulator,
  registerDev,
  registerDemo,
];
