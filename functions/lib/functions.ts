import { meta as alertBridge } from '../alert-bridge/meta.ts';
import { meta as decideDump } from '../decide-dump/meta.ts';
import { meta as execDump } from '../exec-dump/meta.ts';
import { meta as releaseToken } from '../release-token/meta.ts';
import { meta as uploadDump } from '../upload-dump/meta.ts';

export const allFunctions = [alertBridge, decideDump, execDump, uploadDump, releaseToken] as const;
export type FunctionName = (typeof allFunctions)[number]['name'];
