/**
 * What every presenter offers the CLI: the SessionUI the core talks to, plus the few things
 * only the CLI needs (Ctrl-C wiring, closing the screen).
 */
import type { ErrorInfo } from '../engine/errors.js';
import type { DoctorEvent, EventInput, SessionSummary, SessionUI } from '../engine/events.js';
import { redactDeep } from '../engine/redact.js';

/** A SessionUI the CLI can also interrupt and close. */
export interface Presenter extends SessionUI {
  /**
   * Registers the Ctrl-C handler. Ink reads Ctrl-C as a key in raw mode (no SIGINT reaches the
   * process), so the Ink presenter calls it; the others never do and the CLI listens for SIGINT.
   */
  onInterrupt(handler: () => void): void;
  /** Answers every open prompt with CANCELLED (the session is being interrupted). */
  cancelPrompts(): void;
  /** Titles of steps still running, to say what an interrupt is waiting for. */
  runningSteps(): string[];
  /** Shows an error that ended the run outside the session's own summary (start-up, crash). */
  showError(error: ErrorInfo): void;
  /** Leaves the final screen in place and releases the terminal. */
  close(): Promise<void>;
}

/**
 * Adds the timestamp when the caller did not (the core's bus stamps its own events) and
 * redacts again: whatever a presenter shows may end up in a terminal log or a ticket.
 */
export function stamp(input: EventInput): DoctorEvent {
  const candidate = redactDeep(input) as EventInput & { at?: string };
  if (typeof candidate.at === 'string') return candidate as DoctorEvent;

  return { ...candidate, at: new Date().toISOString() } as DoctorEvent;
}

/** A closing summary for an error that ended the run before the session could report it. */
export function failureSummary(error: ErrorInfo): SessionSummary {
  return {
    outcome: 'failed',
    headline: 'shir-doctor stopped before the session could finish.',
    changes: { created: [], updated: [], deleted: [] },
    reportPaths: {},
    nextCommands: [],
    retries: 0,
    error,
  };
}

/** The part of a writable stream presenters use; tests pass a collector. */
export interface TextSink {
  write(text: string): unknown;
}
