/**
 * Pipeline policies shir-doctor adds to every Azure SDK client and credential.
 *
 * - The loopback guard: in sandbox mode, refuses (before anything is sent) every request whose
 *   host is not 127.0.0.1, localhost or ::1. It runs per retry, after the redirect policy, so a
 *   redirect to another host is refused too. Its error carries LOOPBACK_GUARD_CODE, which
 *   the SDK retry strategies do not retry.
 * - The retry reporter: sees every attempt of a request and reports each retry (not the first
 *   attempt, not a redirect hop) with the previous status and the delay actually waited.
 */
import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

/** `code` of the error the loopback guard throws. */
export const LOOPBACK_GUARD_CODE = 'SHIR_DOCTOR_NON_LOOPBACK_HOST';

/** Hosts the sandbox may talk to. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** True when `url` points at this machine through an allowed loopback name. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/** The error the guard throws; a plain Error with a `code`, like a system error. */
export class LoopbackGuardError extends Error {
  readonly code = LOOPBACK_GUARD_CODE;
  readonly host: string;

  constructor(url: string) {
    const host = safeHost(url);
    super(
      `shir-doctor refused a request to ${host}: in sandbox mode every request must go to ` +
        '127.0.0.1 or localhost.',
    );
    this.name = 'LoopbackGuardError';
    this.host = host;
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an unparsable URL';
  }
}

/** Refuses any request that does not go to a loopback host. */
export function loopbackGuardPolicy(): PipelinePolicy {
  return {
    name: 'shirDoctorLoopbackGuard',
    async sendRequest(request, next) {
      if (!isLoopbackUrl(request.url)) throw new LoopbackGuardError(request.url);
      return next(request);
    },
  };
}

/** What the retry reporter tells its listener about one retry. */
export interface RetryInfo {
  /** `METHOD /path` of the request, without the query string. */
  operation: string;
  /** 1 for the first retry. */
  attempt: number;
  /** Status of the attempt that failed; absent for a network error. */
  statusCode?: number;
  /** Milliseconds between the failed attempt and this one. */
  delayMs: number;
}

interface AttemptRecord {
  retries: number;
  endedAt: number;
  statusCode?: number;
  isRedirect: boolean;
}

/** Reports every retry of a request to `onRetry`; never changes the request. */
export function retryReporterPolicy(onRetry: (info: RetryInfo) => void): PipelinePolicy {
  const attempts = new WeakMap<PipelineRequest, AttemptRecord>();

  return {
    name: 'shirDoctorRetryReporter',
    async sendRequest(request, next) {
      const previous = attempts.get(request);
      const retries = countRetry(previous, request, onRetry);

      try {
        const response = await next(request);
        attempts.set(request, record(retries, response));
        return response;
      } catch (error) {
        attempts.set(request, record(retries, undefined, error));
        throw error;
      }
    },
  };
}

function countRetry(
  previous: AttemptRecord | undefined,
  request: PipelineRequest,
  onRetry: (info: RetryInfo) => void,
): number {
  if (!previous) return 0;
  if (previous.isRedirect) return previous.retries;

  const attempt = previous.retries + 1;
  const delayMs = Math.max(0, Math.round(Date.now() - previous.endedAt));
  const info = { operation: describe(request), attempt, statusCode: previous.statusCode, delayMs };
  try {
    onRetry(info);
  } catch {
    // A listener must never break a request.
  }
  return attempt;
}

function record(retries: number, response?: PipelineResponse, error?: unknown): AttemptRecord {
  const statusCode = response?.status ?? statusOf(error);
  const isRedirect = statusCode !== undefined && statusCode >= 300 && statusCode < 400;
  return { retries, endedAt: Date.now(), statusCode, isRedirect };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function describe(request: PipelineRequest): string {
  try {
    return `${request.method} ${new URL(request.url).pathname}`;
  } catch {
    return request.method;
  }
}
