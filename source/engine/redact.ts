/**
 * The process-wide redactor: the single place where secrets are removed from anything that
 * leaves memory (events, the session log, the journal, reports, error messages).
 *
 * Policy:
 * - Every value registered with `registerSecret` is replaced wherever it appears, together with
 *   its JSON-escaped and URL-encoded spellings, longest first so that a secret containing another
 *   one is removed whole.
 * - Anything shaped like an integration runtime auth key (AUTH_KEY_PATTERN) is replaced even if
 *   nobody registered it. A registered auth key also registers its secret (base64) part, which
 *   must not leak on its own.
 * - JWT-shaped strings (bearer access tokens) are replaced too.
 * - The password of a URL given with credentials (a proxy's) is registered like any secret.
 * - Values shorter than MIN_SECRET_LENGTH are ignored: redacting "a" or "1" would destroy every
 *   message without protecting anything.
 */
import { AUTH_KEY_PATTERN } from '../wire/guest.js';

/** What a removed secret is replaced with. */
export const REDACTED = '[redacted]';

/** Shorter registered values are ignored (see the module doc). */
export const MIN_SECRET_LENGTH = 4;

/** A JWT (an Entra ID access token): three base64url parts, the first one a JSON header. */
const ACCESS_TOKEN_PATTERN = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/g;

/** An auth key's secret part is registered on its own only when at least this long. */
const MIN_TAIL_LENGTH = 16;

const secrets = new Set<string>();
let ordered: string[] = [];

/** Registers a secret so that every later `redact` removes it. Safe to call repeatedly. */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) return;

  const spellings = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
  for (const spelling of spellings) secrets.add(spelling);
  ordered = [...secrets].sort((a, b) => b.length - a.length);

  // The secret half of an auth key must not leak on its own either (e.g. a wrapped line).
  const tail = authKeyTail(value);
  if (tail) registerSecret(tail);
}

/** Registers the password of a `scheme://user:password@host` URL (a proxy's), if it has one. */
export function registerUrlPassword(value: string | undefined): void {
  if (!value) return;

  let password = '';
  try {
    password = new URL(value).password;
  } catch {
    return;
  }
  registerSecret(password);
  registerSecret(safeDecode(password));
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The base64 part after the last `@` of an auth-key-shaped value, when long enough. */
function authKeyTail(value: string): string | undefined {
  if (!new RegExp(`^${AUTH_KEY_PATTERN.source}$`).test(value)) return undefined;

  const tail = value.slice(value.lastIndexOf('@') + 1);
  return tail.length >= MIN_TAIL_LENGTH ? tail : undefined;
}

/** Forgets every registered secret. For tests only. */
export function clearSecrets(): void {
  secrets.clear();
  ordered = [];
}

/** True when `text` holds a registered secret or an auth-key-shaped string. */
export function containsSecret(text: string): boolean {
  if (ordered.some((secret) => text.includes(secret))) return true;

  return new RegExp(AUTH_KEY_PATTERN.source).test(text) ||
    new RegExp(ACCESS_TOKEN_PATTERN.source).test(text);
}

/** Removes every registered secret and every auth-key-shaped string from `text`. */
export function redact(text: string): string {
  let result = text
    .replace(new RegExp(AUTH_KEY_PATTERN.source, 'g'), REDACTED)
    .replace(ACCESS_TOKEN_PATTERN, REDACTED);
  for (const secret of ordered) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return result;
}

/**
 * Returns a redacted copy of `value`: strings anywhere inside plain objects, arrays, Maps and
 * Error objects (message, stack, cause and own fields). Errors keep their prototype, so
 * `instanceof` and `name` still work on the copy. Cycles are preserved, not followed forever.
 */
export function redactDeep<T>(value: T): T {
  return copy(value, new WeakMap()) as T;
}

function copy(value: unknown, seen: WeakMap<object, unknown>): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return seen.get(value);

  if (Array.isArray(value)) return copyArray(value, seen);
  if (value instanceof Map) return copyMap(value, seen);
  if (value instanceof Error) return copyError(value, seen);
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  return copyObject(value as Record<string, unknown>, seen);
}

function copyArray(value: unknown[], seen: WeakMap<object, unknown>): unknown[] {
  const result: unknown[] = [];
  seen.set(value, result);
  for (const item of value) result.push(copy(item, seen));
  return result;
}

function copyMap(
  value: Map<unknown, unknown>,
  seen: WeakMap<object, unknown>,
): Map<unknown, unknown> {
  const result = new Map<unknown, unknown>();
  seen.set(value, result);
  for (const [key, item] of value) result.set(copy(key, seen), copy(item, seen));
  return result;
}

function copyObject(
  value: Record<string, unknown>,
  seen: WeakMap<object, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  seen.set(value, result);
  for (const [key, item] of Object.entries(value)) result[key] = copy(item, seen);
  return result;
}

function copyError(value: Error, seen: WeakMap<object, unknown>): Error {
  const result = Object.create(Object.getPrototypeOf(value)) as Error;
  seen.set(value, result);

  // message, stack and cause are often own but non-enumerable: copy them explicitly.
  const keys = new Set([...Object.keys(value), 'message', 'stack', 'cause']);
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const item = copy((value as unknown as Record<string, unknown>)[key], seen);
    Object.defineProperty(result, key, {
      value: item,
      writable: true,
      configurable: true,
      enumerable: Object.prototype.propertyIsEnumerable.call(value, key),
    });
  }
  return result;
}
