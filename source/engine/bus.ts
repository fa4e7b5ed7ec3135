/**
 * The event bus: the one door through which the core's events reach presenters, the session
 * log and the report.
 *
 * `emit` stamps the time, redacts the event deeply (see redact.ts), and hands the same frozen
 * event to every sink in order. A sink that throws is reported through `onSinkError` and never
 * stops the others or the emitter: a broken presenter must not break a remediation.
 */
import type { DoctorEvent, EventInput, EventSink } from './events.js';
import { redactDeep } from './redact.js';

/** Options for `createEventBus`. */
export interface EventBusOptions {
  /** Clock for `at`; tests pass a fixed one. */
  now?: () => Date;
  /** Told about a sink that threw; the default ignores it. */
  onSinkError?: (error: unknown, event: DoctorEvent) => void;
}

/** Fans events out to sinks. */
export interface EventBus {
  /** Stamps, redacts and delivers an event; returns what the sinks received. */
  emit(input: EventInput): DoctorEvent;
  /** Adds a sink for later events; returns a function that removes it. */
  subscribe(sink: EventSink): () => void;
}

/** Creates the bus for one session; `sinks` receive every event in order. */
export function createEventBus(sinks: EventSink[], options: EventBusOptions = {}): EventBus {
  const targets = [...sinks];
  const now = options.now ?? (() => new Date());

  function emit(input: EventInput): DoctorEvent {
    const stamped = { ...input, at: now().toISOString() } as DoctorEvent;
    const event = Object.freeze(redactDeep(stamped));

    for (const sink of [...targets]) deliver(sink, event);
    return event;
  }

  function deliver(sink: EventSink, event: DoctorEvent): void {
    try {
      sink(event);
    } catch (error) {
      reportSinkError(error, event);
    }
  }

  function reportSinkError(error: unknown, event: DoctorEvent): void {
    try {
      options.onSinkError?.(error, event);
    } catch {
      // The error reporter itself failed; there is nowhere left to tell.
    }
  }

  function subscribe(sink: EventSink): () => void {
    targets.push(sink);
    return () => {
      const index = targets.indexOf(sink);
      if (index >= 0) targets.splice(index, 1);
    };
  }

  return { emit, subscribe };
}

/** A sink that keeps every event in memory (for reports and tests). */
export function createMemorySink(): { sink: EventSink; events: DoctorEvent[] } {
  const events: DoctorEvent[] = [];
  return { sink: (event) => void events.push(event), events };
}
