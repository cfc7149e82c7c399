import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServingCertificate {
  key: string;
  cert: string;
}

/**
 * A fresh self-signed certificate for the loopback addresses. The emulator serves HTTPS because kubectl only
 * sends bearer tokens over TLS (client-go reads auth info only for a TLS transport); the kubeconfig carries
 * this certificate as the cluster's CA, as a real kubeconfig carries the API server's.
 */
export async function createServingCertificate(dir: string): Promise<ServingCertificate> {
  const keyPath = join(dir, 'apiserver.key');
  const certPath = join(dir, 'apiserver.crt');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '365',
    '-subj',
    '/CN=heapdump-kube-emulator',
    '-addext',
    'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
  ]);
  return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
}
