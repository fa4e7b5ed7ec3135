/**
 * The sandbox's request log: one JSON line per exchange (time, method, path, query, status,
 * request and reply bodies) appended to `options.requestLogPath`. Redaction happens here, in one
 * place: auth keys, SecureString values, Run Command protectedParameters, the known admin
 * secrets, tokens and the client secret never reach the file; the Authorization header is not
 * logged at all.
 */
import { appendFileSync } from 'node:fs';
import { AUTH_KEY_PATTERN } from '../wire/guest.js';
import type { Ctx, Reply } from './http.js';

const REDACTED = '[redacted]';
const SECRET_KEYS = new Set(['access_token', 'client_secret', 'authkey1', 'authkey2',
  'adminpassword', 'runaspassword']);

/** Appends redacted exchanges to a file. */
export class RequestLog {
  constructor(
    private readonly path: string,
    private readonly secrets: Record<string, string>,
  ) {}

  write(ctx: Ctx, reply: Reply): void {
    const isToken = /\/oauth2\/v2\.0\/token$/i.test(ctx.path);
    const entry = {
      time: new Date().toISOString(),
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
