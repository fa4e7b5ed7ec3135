/**
 * The contract between the runner and the remediation steps.
 *
 * A step declares what it depends on; the runner starts every step whose dependencies have
 * succeeded, concurrently, and never starts a step whose dependency failed. Steps are
 * idempotent: run again after success, they find the work done and say so.
 */
import type { ResourceKind } from './types.js';

export type StepOutcome =
  /** The step did its work (or found it done); one line for the task list. */
  | { status: 'succeeded'; summary: string }
  /** Nothing to do here, and why. Dependants still run. */
  | { status: 'skipped'; reason: string };

export interface Step<Context> {
  id: string;
  title: string;
  dependsOn: readonly string[];
  /** Throws a DoctorError to fail; anything else thrown is mapped to one by the runner. */
  run(context: Context, io: StepIO): Promise<StepOutcome>;
}

export interface StepIO {
  /** A short status line for the live task list ("VM provisioning: 40 s"). */
  progress(message: string): void;
  /** Aborted on Ctrl-C: finish or park the current change, then return. */
  signal: AbortSignal;
  journal: Journal;
}

/** Kinds whose original definition the journal keeps for rollback. */
export type BackedUpKind = 'linked-service' | 'pipeline';

export interface ChangeIntent {
  action: 'create' | 'update' | 'delete';
  kind: ResourceKind;
  name: string;
  /** ARM id or dev-endpoint path of the resource. */
  resourceId: string;
}

export type ChangeResult =
  | { isOk: true; etag?: string }
  | { isOk: false; error: string };

/**
 * The session journal: written before every change (intent) and after it (outcome), never with
 * secrets. It makes a session resumable and reversible.
 */
export interface Journal {
  readonly sessionId: string;
  readonly directory: string;
  /** Records an intent before touching Azure; returns the id to close it with. */
  intend(change: ChangeIntent): Promise<string>;
  /** Records how an intent ended. */
  conclude(intentId: string, result: ChangeResult): Promise<void>;
  /**
   * Keeps the exact bytes of a definition as the service returned them, with its ETag, before
   * it is changed. Returns the backup file path. A second backup of the same item is ignored:
   * the first one is the original.
   */
  backup(kind: BackedUpKind, name: string, rawBody: string, etag?: string): Promise<string>;
  /** Arbitrary step state to keep across a resume (no secrets), e.g. the chosen VM name. */
  remember(key: string, value: unknown): Promise<void>;
  recall<T>(key: string): T | undefined;
}
