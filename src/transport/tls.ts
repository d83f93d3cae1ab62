import { existsSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import type { Config } from '../config/config.js';
import { writeFileAtomic } from '../storage/atomic-write.js';

/** Key and certificate in PEM, with the TLS floor and cipher policy applied to every server. */
export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
  readonly minVersion: 'TLSv1.2';
  readonly ciphers: string;
  readonly honorCipherOrder: true;
}

/** TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3 suites are Node's defaults. */
const MODERN_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** What `ensureCertificate` did, for the start-up log. */
export type CertificateOrigin = 'existing' | 'generated';

/**
 * Makes sure a certificate and key exist. Only when BOTH files are missing is a self-signed pair
 * generated (localhost, 127.0.0.1 and ::1; key written 0600, both written atomically). One missing
 * file of a pair is a configuration error: generating would silently replace a real certificate.
 */
export async function ensureCertificate(
  config: Pick<Config, 'sslCertfile' | 'sslKeyfile'>,
): Promise<CertificateOrigin> {
  const certExists = existsSync(config.sslCertfile);
  const keyExists = existsSync(config.sslKeyfile);
  if (certExists && keyExists) return 'existing';
  if (certExists !== keyExists) {
    const missing = certExists ? `SSL_KEYFILE=${config.sslKeyfile}` : `SSL_CERTFILE=${config.sslCertfile}`;
    throw new Error(`TLS: ${missing} does not exist while its pair does; provide both files or neither`);
  }
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 825 * 24 * 3600 * 1000);
  // Loaded only when a certificate must be made (first HTTPS start): plain-HTTP servers never map it.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  await writeFileAtomic(config.sslKeyfile, pems.private, 0o600);
  await writeFileAtomic(config.sslCertfile, pems.cert, 0o644);
  return 'generated';
}

/** Reads the certificate and key (re-read on SIGHUP for renewals). Tightens a readable key to 0600. */
export async function loadTlsMaterial(
  config: Pick<Config, 'sslCertfile' | 'sslKeyfile'>,
): Promise<TlsMaterial> {
  const [key, cert] = await Promise.all([
    readFile(config.sslKeyfile, 'utf8'),
    readFile(config.sslCertfile, 'utf8'),
  ]);
  await chmod(config.sslKeyfile, 0o600).catch(() => {});
  return { key, cert, minVersion: 'TLSv1.2', ciphers: MODERN_CIPHERS, honorCipherOrder: true };
}
