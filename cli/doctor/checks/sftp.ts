import { Client } from 'ssh2';
import { fingerprintOf, pinnedFingerprints } from '../../../adapters/storage/host-key-pin.ts';
import { type Check, fail, pass, skip } from '../check.ts';

const forward = 'kubectl -n heapdump port-forward svc/heapdump-sftp 2222:22';

/**
 * The SFTP server presents the host key upload-dump pins. Only the key exchange runs: the probe refuses
 * the key it was shown, whatever it is, so it never logs in and needs no credentials.
 */
export const sftp: Check = {
  name: 'sftp',
  needsCluster: false,
  async run({ options }) {
    if (!options.sftp)
      return [
        skip(
          'sftp',
          `SFTP host key skipped: pass --sftp <host:port> and --sftp-host-key <file> (e.g. after ${forward})`,
        ),
      ];
    const { host, port, hostKey } = options.sftp;
    const where = `${host}:${port}`;
    let pinned: Set<string>;
    try {
      pinned = pinnedFingerprints(hostKey, host, port);
    } catch (error) {
      return [
        fail(
          'sftp',
          (error as Error).message,
          'pass --sftp-host-key the server public key file (host_key.pub in Secret heapdump-sftp-client)',
        ),
      ];
    }
    let presented: string;
    try {
      presented = await presentedHostKey(host, port, options.timeoutMs);
    } catch (error) {
      return [
        fail(
          'sftp',
          `SFTP server ${where} did not complete a key exchange: ${(error as Error).message}`,
          `check the address; from outside the cluster: ${forward}`,
        ),
      ];
    }
    if (pinned.has(presented))
      return [pass('sftp', `SFTP server ${where} presents the pinned host key ${presented}`)];
    return [
      fail(
        'sftp',
        `SFTP server ${where} presents host key ${presented}, not the pinned ${[...pinned].join(', ')}: upload-dump would refuse it`,
        'if the server key changed on purpose, put its public key into Secret heapdump/heapdump-sftp-client (key host_key.pub); otherwise find out who answers at that address',
      ),
    ];
  },
};

/** The SHA256 fingerprint of the host key the server presents in the SSH key exchange. */
function presentedHostKey(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: string | undefined;
    const done = (error?: Error) => {
      client.end();
      if (presented) resolve(presented);
      else reject(error ?? new Error('the connection closed before the server showed its host key'));
    };
    client.on('error', done);
    client.on('close', () => done());
    client.connect({
      host,
      port,
      username: 'heapdump-doctor',
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        presented = fingerprintOf(key);
        return false;
      },
    });
  });
}
