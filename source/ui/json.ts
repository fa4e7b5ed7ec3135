/**
 * The `--json` presenter: exactly one DoctorEvent per line on stdout and nothing else there,
 * so `jq` and CI jobs can read it; what a human reads goes to stderr through the plain
 * presenter, which also answers every prompt (approve only with `--yes`). An error that ends
 * the run outside the session still closes the stream with a `session.finished` event.
 */
import type { ErrorInfo } from '../engine/errors.js';
import type { EventInput } from '../engine/events.js';
import { createPlainPresenter, type PlainOptions } from './plain.js';
import { failureSummary, stamp, type Presenter, type TextSink } from './presenter.js';

/** The plain options (for stderr) plus the stream that gets the JSON lines. */
export interface JsonOptions extends PlainOptions {
  /** stdout in the CLI: receives JSON lines only. */
  out: TextSink;
}

export function createJsonPresenter(options: JsonOptions): Presenter {
  const human = createPlainPresenter(options);

  return {
    ...human,
    emit(input: EventInput): void {
      const event = stamp(input);
      options.out.write(`${JSON.stringify(event)}\n`);
      human.emit(event);
    },
    showError(error: ErrorInfo): void {
      const summary = failureSummary(error);
      const event = stamp({ type: 'session.finished', summary, exitCode: error.exitCode });
      options.out.write(`${JSON.stringify(event)}\n`);
      human.showError(error);
    },
  };
}
