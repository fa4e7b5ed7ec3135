/**
 * Declarative faults: rules that make the emulator answer a matching request with an error, a
 * delay, a dropped connection or a different body, a given number of times. Rules come from the
 * scenario's `faults` and from `options.faultsFile` (a JSON array of rules, or `{rules: [...]}`).
 *
 * Examples:
 * - throttling: `{"method":"PUT","path":"/linkedservices/","status":429,"retryAfter":1,"times":2}`
 * - a 500 in a long-running operation: `{"method":"GET","path":"operationStatuses","status":500}`
 * - an operation that fails midway: `{"method":"GET","path":"operationStatuses","skip":1,
 *   "status":200,"body":{"status":"Failed","error":{"code":"InternalError","message":"..."}}}`
 * - a dropped connection: `{"path":"/integrationRuntimes/","drop":true}`
 *
 * Throttling can also be modelled as a rate: the scenario's `throttle` lets `writes` write
 * requests (PUT, POST, PATCH, DELETE on ARM and dev endpoint routes) through per sliding window
 * of `windowMs` real milliseconds and answers the rest 429 with `Retry-After`, as ARM does.
 */
import { readFileSync } from 'node:fs';
import type { Handler, Reply } from './http.js';
import { DROP_CONNECTION } from './server.js';

/** One fault rule. */
export interface FaultRule {
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Regular expression matched case-insensitively against the request path. */
  path: string;
  /** Let this many matching requests through before the rule fires (default 0). */
  skip?: number;
  /** How many times the rule fires (default 1; -1 = always). */
  times?: number;
  /** Status to answer with (default 500 unless `drop` or only `delayMs`). */
  status?: number;
  /** ARM error code and message for the error body. */
  code?: string;
  message?: string;
  /** Reply body instead of an ARM error body. */
  body?: unknown;
  /** Adds `Retry-After: <seconds>`. */
  retryAfter?: number;
  /** Waits this long (real milliseconds) before answering or passing the request on. */
  delayMs?: number;
  /** Drops the connection without an answer. */
  drop?: boolean;
}

interface LiveRule {
  rule: FaultRule;
  pattern: RegExp;
  seen: number;
  fired: number;
}

/** The active rules and their counters. */
export class Faults {
  private readonly rules: LiveRule[];

  constructor(rules: FaultRule[]) {
    this.rules = rules.map((rule) => ({ rule, pattern: new RegExp(rule.path, 'i'), seen: 0,
      fired: 0 }));
  }

  /** Reads a fault file. */
  static readFile(path: string): FaultRule[] {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as FaultRule[] | { rules: FaultRule[] };
    return Array.isArray(parsed) ? parsed : parsed.rules;
  }

  /** How many times each rule has fired, in rule order. */
  counts(): number[] {
    return this.rules.map((r) => r.fired);
  }

  handler(): Handler {
    return async (ctx) => {
      const live = this.take(ctx.method, ctx.path);
      if (!live) return undefined;
      const { rule } = live;
      if (rule.delayMs) await new Promise((r) => setTimeout(r, rule.delayMs));
      if (rule.drop) return { status: 0, headers: { [DROP_CONNECTION]: '1' } };
      if (rule.delayMs && rule.status === undefined && rule.body === undefined) return undefined;
      return toReply(rule);
    };
  }

  private take(method: string, path: string): LiveRule | undefined {
    for (const live of this.rules) {
      const { rule } = live;
      if (rule.method && rule.method.toUpperCase() !== method) continue;
      if (!live.pattern.test(path)) continue;
      live.seen += 1;
      if (live.seen <= (rule.skip ?? 0)) continue;
      const times = rule.times ?? 1;
      if (times >= 0 && live.fired >= times) continue;
      live.fired += 1;
      return live;
    }
    return undefined;
  }
}

function toReply(rule: FaultRule): Reply {
  const headers: Record<string, string> = {};
  if (rule.retryAfter !== undefined) headers['retry-after'] = String(rule.retryAfter);
  const status = rule.status ?? 500;
  const body = rule.body ?? { error: {
    code: rule.code ?? (status === 429 ? 'TooManyRequests' : 'InternalServerError'),
    message: rule.message ?? (status === 429
      ? 'The request was throttled. Retry after the time in the Retry-After header.'
      : 'The server encountered an internal error. Please retry the request.'),
  } };
  return { status, headers, body };
}

/** A write-rate limit: `writes` per `windowMs`, then 429 with `Retry-After: retryAfter`. */
export interface ThrottleRule {
  writes: number;
  windowMs: number;
  /** Seconds (default 1). */
  retryAfter?: number;
}

const WRITE_METHODS = new Set(['PUT', 'POST', 'PATCH', 'DELETE']);

/** Sliding-window write throttling for ARM and dev endpoint routes. */
export class Throttle {
  private readonly times: number[] = [];

  constructor(private readonly rule: ThrottleRule) {}

  handler(): Handler {
    return (ctx) => {
      const isApi = /^\/(subscriptions|dev)\//i.test(ctx.path);
      if (!isApi || !WRITE_METHODS.has(ctx.method)) return undefined;
      const now = Date.now();
      while (this.times.length > 0 && now - this.times[0] >= this.rule.windowMs) {
        this.times.shift();
      }
      if (this.times.length < this.rule.writes) {
        this.times.push(now);
        return undefined;
      }
      return toReply({ path: '', status: 429, retryAfter: this.rule.retryAfter ?? 1,
        code: 'TooManyRequests', message: 'The request is being throttled as the limit has ' +
        'been reached for operation type - Write. Retry after the time in Retry-After.' });
    };
  }
}
