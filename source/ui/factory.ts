/**
 * Picks the one presenter a run uses. Priority, first match wins:
 *
 * 1. `--json`: one DoctorEvent per line on stdout, nothing else there; humans' text on stderr.
 * 2. Not interactive (a pipe, CI, `--yes`): the plain line presenter on stderr.
 * 3. Otherwise: the Ink UI on the terminal.
 *
 * Interactivity is decided by `isInteractive` (interactive.ts) before this is called. The Ink
 * presenter is loaded lazily so JSON and plain runs never load React.
 */
import type { CommandName } from '../engine/events.js';
import { registerSecret } from '../engine/redact.js';
import { createJsonPresenter } from './json.js';
import { createPlainPresenter } from './plain.js';
import type { Presenter, TextSink } from './presenter.js';

/** What decides the presenter, and the streams it writes to. */
export interface PresenterChoice {
  command: CommandName;
  isJson: boolean;
  isInteractive: boolean;
  isAutoApproved: boolean;
  stdout: TextSink;
  stderr: TextSink;
  /** Receives each secret typed at a prompt, before the core sees it (default: the redactor). */
  onSecret?(value: string): void;
}

export async function createPresenter(choice: PresenterChoice): Promise<Presenter> {
  const { command, isAutoApproved } = choice;
  const sink = choice.stderr;
  if (choice.isJson) {
    return createJsonPresenter({ command, isAutoApproved, out: choice.stdout, sink });
  }
  if (!choice.isInteractive) return createPlainPresenter({ command, isAutoApproved, sink });

  const { createInkPresenter } = await import('./ink/presenter.js');

  return createInkPresenter({ command, onSecret: choice.onSecret ?? registerSecret });
}
