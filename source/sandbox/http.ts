/**
 * The emulator's small HTTP toolkit: a request context, a reply value, ARM-shaped errors and a
 * case-insensitive path matcher. Handlers are plain functions `(ctx) => Reply | undefined`;
 * `undefined` means "not mine", so the server tries the next handler.
 */
import type { IncomingMessage } from 'node:http';

/** What a handler sees of one request. */
export interface Ctx {
  method: string;
  /** Path without query, as sent (percent-decoded). */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
  /** Raw body text (form posts to the token endpoint). */
  rawBody: string;
  /** `https://127.0.0.1:PORT`: the base URL to put in Location headers and links. */
  base: string;
}

/** What a handler answers. `body` undefined means an empty body. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Thrown by handlers to answer with an ARM error body `{error:{code,message}}`. */
export class HttpFail extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A handler answers a request it owns and returns undefined otherwise. */
export type Handler = (ctx: Ctx) => Reply | undefined | Promise<Reply | undefined>;

/** Builds a 200 (or given status) JSON reply. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Reply {
  return { status, body, headers };
}

/** Builds an ARM error reply. */
export function armError(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } } };
}

/** Throws the ARM "not found" error for a resource id. */
export function notFound(what: string, name: string): never {
  throw new HttpFail(404, 'ResourceNotFound', `The ${what} '${name}' was not found.`);
}

/**
 * Matches `path` against `pattern` case-insensitively. Pattern segments starting with `:` capture
 * one path segment. Returns the captures, or undefined when the path does not match.
 */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return undefined;

  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    if (w.startsWith(':')) params[w.slice(1)] = got[i];
    else if (w.toLowerCase() !== got[i].toLowerCase()) return undefined;
  }
  return params;
}

/** Lower-cases an ARM id and removes any trailing slash, for use as a map key. */
export function idKey(id: string): string {
  return id.replace(/\/+$/, '').toLowerCase();
}

/** A random GUID. */
export function guid(): string {
  return globalThis.crypto.randomUUID();
}

/**
 * Enforces `If-Match` as Azure does: absent or `*` passes; otherwise it must equal the stored
 * ETag (quotes ignored), or the write fails with 412 and `message`.
 */
export function checkIfMatch(ctx: Ctx, etag: unknown, message: string): void {
  const ifMatch = ctx.headers['if-match'];
  if (!ifMatch || ifMatch === '*') return;
  if (etag === undefined || ifMatch.replace(/"/g, '') !== String(etag).replace(/"/g, '')) {
    throw new HttpFail(412, 'PreconditionFailed', message);
  }
}
