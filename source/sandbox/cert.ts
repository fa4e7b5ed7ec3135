/**
 * The emulator's TLS certificate: self-signed for `IP:127.0.0.1` and `DNS:localhost`, made once
 * and cached in the state folder (generating an RSA key takes a moment) until it nears expiry.
 * Within one process a fresh state folder gets the certificate already made (tests start many
 * sandboxes).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/** A PEM certificate, its key, and where the certificate is stored. */
export interface TlsMaterial {
  cert: string;
  key: string;
  certPath: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** One certificate per process: a new state folder reuses it instead of making a new key. */
let generated: Promise<{ cert: string; key: string }> | undefined;

/** Loads the cached certificate from `stateDir`, or makes and caches a new one. */
export async function loadOrCreateCert(stateDir: string): Promise<TlsMaterial> {
  mkdirSync(stateDir, { recursive: true });
  const certPath = join(stateDir, 'sandbox-cert.pem');
  const keyPath = join(stateDir, 'sandbox-key.pem');

  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    if (isStillValid(cert)) return { cert, key: readFileSync(keyPath, 'utf8'), certPath };
  }

  generated ??= createCert().catch((e: unknown) => {
    generated = undefined;
    throw e;
  });
  const { cert, key } = await generated;
  writeFileSync(keyPath, key, { mode: 0o600 });
  writeFileSync(certPath, cert);
  return { cert, key, certPath };
}

function isStillValid(pem: string): boolean {
  try {
    const x509 = new X509Certificate(pem);
    const fresh = Date.parse(x509.validTo) - Date.now() > DAY_MS;
    return fresh && x509.checkIP('127.0.0.1') !== undefined;
  } catch {
    return false;
  }
}

async function createCert(): Promise<{ cert: string; key: string }> {
  const notBeforeDate = new Date(Date.now() - DAY_MS);
  const notAfterDate = new Date(Date.now() + 365 * DAY_MS);
  const pems = await generate([{ name: 'commonName', value: 'shir-doctor sandbox' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
