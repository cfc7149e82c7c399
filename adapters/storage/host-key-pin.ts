import { createHash, createHmac } from 'node:crypto';
import { PermanentError } from '../../functions/lib/errors.ts';

/** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const KEY_TYPE = /^(ssh-|ecdsa-|sk-)/;

function hostPatternMatches(pattern: string, candidates: string[]): boolean {
  if (pattern.startsWith('|1|')) {
    // Hashed entry (HashKnownHosts yes): |1|base64(salt)|base64(HMAC-SHA1(salt, host))
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return candidates.some(
      (host) => createHmac('sha1', Buffer.from(salt, 'base64')).update(host).digest('base64') === hash,
    );
  }
  return pattern.split(',').some((entry) => candidates.includes(entry));
}

/**
 * Reads the pinned host keys for `host:port` from config text, one entry per line, each one of:
 * a fingerprint (`SHA256:...`), a public key (`ssh-ed25519 AAAA...`), or a known_hosts line
 * (`[host]:port ssh-ed25519 AAAA...`, hashed host names too). Returns their SHA256 fingerprints.
 * A pin that names no key is a configuration error: accepting any key would defeat the pin.
 */
export function pinnedFingerprints(pin: string, host: string, port: number): Set<string> {
  const candidates = port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
  const pinned = new Set<string>();
  for (const raw of pin.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    if (FINGERPRINT.test(line)) {
      pinned.add(line);
      continue;
    }
    const fields = line.split(/\s+/);
    const keyAt = KEY_TYPE.test(fields[0]!) ? 0 : 1;
    if (keyAt === 1 && !hostPatternMatches(fields[0]!, candidates)) continue;
    const blob = fields[keyAt + 1];
    if (blob) pinned.add(fingerprintOf(Buffer.from(blob, 'base64')));
  }
  if (pinned.size === 0) {
    throw new PermanentError(
      `no pinned SFTP host key for ${candidates.at(-1)}: set the host key to a SHA256 fingerprint, ` +
        'a public key, or known_hosts lines for this host',
    );
  }
  return pinned;
}
