/**
 * The typed event stream between the core and every presenter.
 *
 * The core emits; the Ink UI, the plain line presenter, the `--json` presenter, the session log
 * and the report all consume the same events. Events never carry secrets: the single writer of
 * artefacts redacts them again anyway (see redact.ts).
 */
import type { ErrorInfo } from './errors.js';
import type { Finding, Plan, Target } from './types.js';

export type CommandName = 'fix' | 'plan' | 'verify' | 'rollback' | 'scan';

export type SessionOutcome =
  /** fix: changes applied and the end-to-end test passed. */
  | 'fixed'
  /** fix or plan: nothing to change; verify: all checks passed. */
  | 'healthy'
  /** verify: at least one check failed. */
  | 'unhealthy'
  /** The workspace is not something this tool should change (e.g. not DEP-locked). */
  | 'not-applicable'
  /** The admin declined the plan; nothing changed. */
  | 'declined'
  | 'rolled-back'
  /** rollback: no session in the state folder changed this workspace; nothing was undone. */
  | 'nothing-to-roll-back'
  | 'failed'
  | 'interrupted';

/** Closing data for presenters and reports; data, not text. */
export interface SessionSummary {
  outcome: SessionOutcome;
  /** One human sentence, e.g. "The API answered 200 through shir-doctor-ir in 0.4 s". */
  headline: string;
  /** Did the end-to-end API test pass through the self-hosted runtime? */
  isApiReachable?: boolean;
  changes: { created: string[]; updated: string[]; deleted: string[] };
  reportPaths: { markdown?: string; json?: string };
  /** Suggested next commands, e.g. `shir-doctor verify`. */
  nextCommands: string[];
  retries: number;
  error?: ErrorInfo;
}

export type DoctorEvent =
  | {
      type: 'session.started';
      sessionId: string;
      command: CommandName;
      target: Target;
      mode: 'sandbox' | 'azure';
      isResumed: boolean;
      at: string;
    }
  | { type: 'finding'; finding: Finding; at: string }
  | { type: 'plan.ready'; plan: Plan; at: string }
  | { type: 'plan.approved'; by: 'prompt' | 'flag'; at: string }
  | { type: 'step.started'; stepId: string; title: string; at: string }
  | { type: 'step.progress'; stepId: string; message: string; at: string }
  | { type: 'step.succeeded'; stepId: string; summary: string; elapsedMs: number; at: string }
  | { type: 'step.skipped'; stepId: string; title: string; reason: string; at: string }
  | { type: 'step.failed'; stepId: string; error: ErrorInfo; elapsedMs: number; at: string }
  | {
      type: 'retry';
      operation: string;
      attempt: number;
      statusCode?: number;
      delayMs: number;
      at: string;
    }
  | { type: 'check'; name: string; isPassing: boolean; detail: string; at: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string; at: string }
  | { type: 'session.finished'; summary: SessionSummary; exitCode: number; at: string };

export type EventType = DoctorEvent['type'];

/** Distributes an event without its timestamp; the emitter stamps it. */
export type EventInput = DoctorEvent extends infer E
  ? E extends { at: string }
    ? Omit<E, 'at'>
    : never
  : never;

export type EventSink = (event: DoctorEvent) => void;

/** A shared marker a prompt returns when the admin cancels (Esc, Ctrl-C, closed stdin). */
export const CANCELLED = Symbol('cancelled');

/**
 * What the core may ask of whoever drives it. Presenters implement it; the core never
 * knows whether a human, a flag or a test answered.
 */
export interface SessionUI {
  emit(event: EventInput): void;
  /** Ask to apply the plan; resolves true, false or CANCELLED. */
  approve(plan: Plan): Promise<boolean | typeof CANCELLED>;
  /** Ask to confirm one risky action (e.g. remove a stale node, delete created resources). */
  confirm(question: string): Promise<boolean | typeof CANCELLED>;
  /**
   * Ask for a secret the service only returns masked (a linked service's SecureString), so a
   * rewrite can keep it. Input is hidden; the value is registered with the redactor at once.
   */
  askSecret(question: string): Promise<string | typeof CANCELLED>;
}
