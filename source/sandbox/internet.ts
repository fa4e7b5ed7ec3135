/**
 * The sandbox's internet: a plain HTTP server on 127.0.0.1 that answers for every host in the
 * scenario's `internet` map (the demo partner API), and the one client function that reaches
 * it. A URL whose host is not in the map fails as a DNS error without any connection attempt:
 * nothing here ever connects anywhere but 127.0.0.1.
 *
 * Partner API: `GET /v1/health` answers 200 JSON without credentials; other `/v1/...` paths
 * need an `x-api-key` header equal to one of the scenario's secrets (a masked `**********` key
 * gets 401, which is what a lost secret looks like); `/files/...` answers a small listing.
 * Each host's `latencyMs` delays its answers (F18), scaled by timeScale with a floor so that
 * the order of latencies and timeouts survives timeScale 0.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse }
  from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InternetHost } from './scenario.js';

/** The result of one outbound HTTP call. */
export type CallResult =
  | { ok: true; status: number; headers: Record<string, string>; body: unknown; ms: number }
  | { ok: false; failure: 'dns' | 'timeout' | 'connect'; message: string; ms: number };

/** Smallest factor applied to simulated durations, so timeScale 0 keeps their order. */
export const MIN_SCALE = 0.001;

/**
 * Real time a call may take beyond its budget on a busy machine. Whether a call times out is
 * decided by the host's simulated latency against the budget, never by machine load.
 */
const LOAD_SLACK_MS = 10_000;

/** The local stand-in for the internet. */
export class Internet {
  private server?: Server;
  private port = 0;

  constructor(
    private readonly hosts: Record<string, InternetHost>,
    private readonly apiKeys: () => string[],
    private readonly timeScale: number,
  ) {}

  /** `http://127.0.0.1:PORT` once started. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** Whether `host` exists on this internet. */
  knows(host: string): boolean {
    return this.hostEntry(host) !== undefined;
  }

  /**
   * Calls `url` as a client on the internet would, within `timeoutMs` (real ms, already
   * scaled): a host slower than that times out after `timeoutMs`, any other one answers.
   */
  call(url: string, init: { method?: string; headers?: Record<string, string>; body?: string;
    timeoutMs: number }): Promise<CallResult> {
    const started = Date.now();
    const target = new URL(url);
    if (!this.knows(target.hostname)) {
      return Promise.resolve({ ok: false, failure: 'dns', ms: 0,
        message: `No such host is known. (${target.hostname}:${target.port || 443})` });
    }
    if (this.delayOf(target.hostname) >= init.timeoutMs) {
      return new Promise((resolve) => setTimeout(() => resolve({ ok: false, failure: 'timeout',
        ms: Date.now() - started, message: 'The request timed out.' }), init.timeoutMs));
    }
    return new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: this.port, method: init.method ?? 'GET',
        path: `${target.pathname}${target.search}`,
        headers: { ...init.headers, host: target.hostname } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(toResult(res, Buffer.concat(chunks), started)));
      });
      req.setTimeout(init.timeoutMs + LOAD_SLACK_MS, () => {
        req.destroy();
        resolve({ ok: false, failure: 'timeout', ms: Date.now() - started,
          message: 'The request timed out.' });
      });
      req.on('error', (e) => resolve({ ok: false, failure: 'connect',
        ms: Date.now() - started, message: e.message }));
      if (init.body) req.write(init.body);
      req.end();
    });
  }

  /** The host's answer delay in real ms: its latency scaled, with the floor. */
  private delayOf(host: string): number {
    return (this.hostEntry(host)?.latencyMs ?? 0) * Math.max(this.timeScale, MIN_SCALE);
  }

  private hostEntry(host: string): InternetHost | undefined {
    const key = Object.keys(this.hosts).find((h) => h.toLowerCase() === host.toLowerCase());
    return key === undefined ? undefined : this.hosts[key];
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const _ of req) { /* drain the body */ }
    const host = String(req.headers.host ?? '').split(':')[0];
    const delay = this.delayOf(host);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (res.destroyed) return;
    const { status, body } = this.route(req);
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'x-partner-api': 'sandbox',
      'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  private route(req: IncomingMessage): { status: number; body: unknown } {
    const path = (req.url ?? '/').split('?')[0].toLowerCase();
    if (path === '/v1/health' || path === '/v1/health/') {
      return { status: 200, body: { status: 'healthy', service: 'partner-api',
        version: '1.4.2', time: new Date().toISOString() } };
    }
    if (path.startsWith('/files')) {
      return { status: 200, body: { files: ['orders-latest.csv', 'customers.csv'] } };
    }
    if (!path.startsWith('/v1/')) return { status: 404, body: { error: 'not_found' } };
    const key = String(req.headers['x-api-key'] ?? '');
    if (!key || !this.apiKeys().includes(key)) {
      return { status: 401, body: { error: 'invalid_api_key',
        message: 'The x-api-key header is missing or invalid.' } };
    }
    return { status: 200, body: { path, items: [{ id: 1, status: 'open' }] } };
  }
}

function toResult(res: IncomingMessage, raw: Buffer, started: number): CallResult {
  const text = raw.toString('utf8');
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : '';
  } catch {
    body = text;
  }
  const headers = Object.fromEntries(Object.entries(res.headers)
    .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
  return { ok: true, status: res.statusCode ?? 0, headers, body, ms: Date.now() - started };
}
