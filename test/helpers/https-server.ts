/**
 * A tiny HTTPS server on 127.0.0.1 for tests that need real SDK clients without the full
 * emulator: a self-signed certificate for 127.0.0.1/localhost, a fake Entra ID token endpoint,
 * and a route function the test supplies. Every request is recorded.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

import { generate } from 'selfsigned';

import type { Connection } from '../../source/azure/types.js';

/** One request the server received. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** What a route returns; `undefined` means 404. */
export interface TestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type TestRoute = (request: SeenRequest, url: URL) => TestReply | undefined;

export interface TestHttpsServer {
  /** `https://127.0.0.1:PORT` */
  url: string;
  port: number;
  caPem: string;
  requests: SeenRequest[];
  /** The fields a sandbox Connection needs, pointed at this server. */
  connection: Extract<Connection, { kind: 'sandbox' }>;
  close(): Promise<void>;
}

let cached: Promise<{ cert: string; key: string }> | undefined;

/** One certificate per test process: making an RSA key takes a moment. */
export function testCertificate(): Promise<{ cert: string; key: string }> {
  cached ??= makeCertificate();
  return cached;
}

async function makeCertificate(): Promise<{ cert: string; key: string }> {
  const day = 24 * 60 * 60 * 1000;
  const pems = await generate([{ name: 'commonName', value: 'shir-doctor test' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - day),
    notAfterDate: new Date(Date.now() + 30 * day),
    extensions: [
      { name: 'basicConstraints', cA: true },
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

const TENANT = '00000000-0000-4000-8000-00000000aaaa';

/** Starts the server; `route` answers everything but the Entra ID endpoints. */
export async function startTestHttpsServer(route: TestRoute): Promise<TestHttpsServer> {
  const { cert, key } = await testCertificate();
  const requests: SeenRequest[] = [];
  const server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      const url = new URL(seen.path, base(server));
      const reply = entra(seen, url, base(server)) ?? route(seen, url) ?? notFound();
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const url = base(server);
  return {
    url,
    port: (server.address() as AddressInfo).port,
    caPem: cert,
    requests,
    connection: {
      kind: 'sandbox',
      endpoint: url,
      caPem: cert,
      authorityHost: url,
      tenantId: TENANT,
      clientId: '00000000-0000-4000-8000-00000000bbbb',
      clientSecret: `test-secret-${Date.now()}`,
    },
    close: () => closeServer(server),
  };
}

function base(server: Server): string {
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function notFound(): TestReply {
  return { status: 404, body: { error: { code: 'NotFound', message: 'No route.' } } };
}

function entra(request: SeenRequest, url: URL, origin: string): TestReply | undefined {
  if (url.pathname.endsWith('/v2.0/.well-known/openid-configuration')) {
    const tenant = url.pathname.split('/')[1];
    return {
      status: 200,
      body: {
        issuer: `${origin}/${tenant}/v2.0`,
        authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
        token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
        jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
        response_types_supported: ['code'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
      },
    };
  }
  if (url.pathname.endsWith('/oauth2/v2.0/token') && request.method === 'POST') {
    const scope = new URLSearchParams(request.body).get('scope') ?? '';
    const token = `test-token-for ${scope}`;
    return {
      status: 200,
      body: { token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: token },
    };
  }
  return undefined;
}

/** The token scopes the server was asked for, in order. */
export function requestedScopes(server: TestHttpsServer): string[] {
  return server.requests
    .filter((request) => request.path.includes('/oauth2/v2.0/token'))
    .map((request) => new URLSearchParams(request.body).get('scope') ?? '');
}
