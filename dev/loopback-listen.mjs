// faas-js-runtime listens on every interface (`::`), as a pod should; local runs and tests stay on the
// address in FUNC_HOST. Plain JavaScript, so both dev/serve-function.ts (under tsx) and a built bundle
// served by plain node (dev/stack/function-process.ts) can load it.
import { Server } from 'node:net';

const host = process.env.FUNC_HOST;
if (host) {
  const listen = Server.prototype.listen;
  Server.prototype.listen = function (...args) {
    const [options] = args;
    if (options && typeof options === 'object' && options.host === '::') args[0] = { ...options, host };
    return listen.apply(this, args);
  };
}
