/**
 * The one error type shir-doctor raises on purpose.
 *
 * Every DoctorError says what happened, why, and the next step, so that a presenter can print
 * it without knowing where it came from. The fix is the most important line and is printed last.
 */

/** Process exit codes; documented in README.md. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  unhealthy: 3,
  blocked: 4,
  applyFailed: 5,
  declined: 6,
  interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What a presenter or report needs to show an error; plain data, safe to serialise. */
export interface ErrorInfo {
  /** Stable machine code, e.g. `authorization-failed`, `dev-endpoint-unreachable`. */
  code: string;
  /** What happened, in one sentence. */
  what: string;
  /** Why it happened, when known (the evidence). */
  why?: string;
  /** The next step: the role to grant, the flag to pass, the resource to check. */
  fix: string;
  /** Exit code the CLI should end with if this error ends the session. */
  exitCode: ExitCode;
}

export class DoctorError extends Error {
  readonly info: ErrorInfo;

  constructor(info: Omit<ErrorInfo, 'exitCode'> & { exitCode?: ExitCode }) {
    super(info.what);
    this.name = 'DoctorError';
    this.info = { exitCode: ExitCode.applyFailed, ...info };
  }
}

export function isDoctorError(value: unknown): value is DoctorError {
  return value instanceof DoctorError;
}
