/**
 * The sandbox's request log: one JSON line per exchange (time, method, path, query, status,
 * request and reply bodies, and the operation it was: method plus the path with names folded to
 * `{}`) appended to `options.requestLogPath`; on close, one last `{"summary": ...}` line counts
 * the exchanges per operation, so a run can be audited and benchmarked without post-processing.
 * Redaction happens here, in one
 * place: auth keys, SecureString values, Run Command protectedParameters, the known admin
 * secrets, tokens and the client secret never reach the file; the Authorization header is not
 * logged at all.
 */
import { appendFileSync } from 'node:fs';
import { AUTH_KEY_PATTERN } from '../wire/guest.js';
import type { Ctx, Reply } from './http.js';

const REDACTED = '[redacted]';
/** Path segments that name a collection: the segment after one is a name, folded to `{}`. */
const COLLECTIONS = new Set(['subscriptions', 'resourcegroups', 'workspaces',
  'integrationruntimes', 'nodes', 'virtualmachines', 'runcommands', 'virtualnetworks', 'subnets',
  'networksecuritygroups', 'natgateways', 'publicipaddresses', 'networkinterfaces',
  'linkedservices', 'pipelines', 'pipelineruns', 'operationresults', 'operationstatuses',
  'asyncoperations', 'dev']);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_KEYS = new Set(['access_token', 'client_secret', 'authkey1', 'authkey2',
  'adminpassword', 'runaspassword']);

/** Appends redacted exchanges to a file. */
export class RequestLog {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly path: string,
    private readonly secrets: Record<string, string>,
  ) {}

  write(ctx: Ctx, reply: Reply): void {
    const isToken = /\/oauth2\/v2\.0\/token$/i.test(ctx.path);
    const operation = operationOf(ctx.method, ctx.path);
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
    const entry = {
      time: new Date().toISOString(),
      operation,
      method: ctx.method,
      path: ctx.path,
      query: Object.fromEntries(ctx.query),
      status: reply.status,
      request: isToken ? { form: [...new URLSearchParams(ctx.rawBody).keys()] }
        : this.redact(ctx.body),
      reply: this.redact(reply.body),
    };
    appendFileSync(this.path, `${this.scrub(JSON.stringify(entry))}\n`);
  }

  /** Appends the per-operation counts, most frequent first; called once, when the sandbox closes. */
  close(): void {
    const counts = Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
    const total = [...this.counts.values()].reduce((sum, count) => sum + count, 0);
    appendFileSync(this.path, `${JSON.stringify({ summary: { total, counts } })}\n`);
  }

  /** Deep copy with secret-bearing fields replaced. */
  private redact(value: unknown, key = ''): unknown {
    if (SECRET_KEYS.has(key.toLowerCase()) && value !== undefined) return REDACTED;
    if (key === 'protectedParameters' && Array.isArray(value)) {
      return value.map((p) => ({ ...p, value: REDACTED }));
    }
    if (Array.isArray(value)) return value.map((v) => this.redact(v));
    if (!value || typeof value !== 'object') return value;
    const record = value as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) copy[k] = this.redact(v, k);
    if (record.type === 'SecureString' && 'value' in record) copy.value = REDACTED;
    return copy;
  }

  private scrub(text: string): string {
    let clean = text.replace(AUTH_KEY_PATTERN, '[redacted-auth-key]');
    for (const secret of Object.values(this.secrets)) {
      if (secret.length < 4) continue;
      clean = clean.split(JSON.stringify(secret).slice(1, -1)).join(REDACTED);
    }
    return clean;
  }
}

/** `GET /subscriptions/{}/resourcegroups/{}/.../linkedservices/{}`: one name per operation. */
export function operationOf(method: string, path: string): string {
  const segments = path.toLowerCase().split('/');
  const folded = segments.map((segment, at) =>
    COLLECTIONS.has(segments[at - 1] ?? '') || GUID.test(segment) ? '{}' : segment);

  return `${method.toUpperCase()} ${folded.join('/')}`;
}
