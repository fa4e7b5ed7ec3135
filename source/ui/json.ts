/**
 * The `--json` presenter: exactly one DoctorEvent per line on stdout and nothing else there,
 * so `jq` and CI jobs can read it; what a human reads goes to stderr through the plain
 * presenter, which also answers every prompt (approve only with `--yes`).
 */
import type { EventInput } from '../engine/events.js';
import { createPlainPresenter, type PlainOptions } from './plain.js';
import { stamp, type Presenter, type TextSink } from './presenter.js';

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
  };
}
