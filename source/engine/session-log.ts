/**
 * The session log: every event of a session, one JSON object per line, appended to a file.
 *
 * Writes are synchronous and one `write` per line, so the log is in order, complete up to the
 * last event before a crash, and readable while the session runs. Every line is redacted again
 * here, because the log may also be fed directly rather than through the bus.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

import type { DoctorEvent, EventSink } from './events.js';
import { redact } from './redact.js';

/** An open session log. */
export interface SessionLog {
  readonly path: string;
  /** Appends one event; after `close` it does nothing. */
  sink: EventSink;
  /** Appends a debug record that is not an event (e.g. an SDK log line). */
  debug(message: string, detail?: Record<string, unknown>): void;
  close(): void;
}

/** Opens (creating folders as needed) a JSON-lines session log for appending. */
export function openSessionLog(path: string): SessionLog {
  mkdirSync(dirname(path), { recursive: true });
  let fd: number | undefined = openSync(path, 'a', 0o600);

  function append(record: object): void {
    if (fd === undefined) return;

    writeSync(fd, redact(JSON.stringify(record)) + '\n');
  }

  return {
    path,
    sink: (event: DoctorEvent) => append(event),
    debug: (message, detail) => {
      const at = new Date().toISOString();
      append({ type: 'log', level: 'debug', message, ...(detail ? { detail } : {}), at });
    },
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
