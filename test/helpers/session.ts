/**
 * In-process session plumbing for tests on a TestSandbox: auto-approved SessionOptions with
 * fast polling and retries, and a SessionUI that approves everything and records its events.
 */
import { join } from 'node:path';

import { CANCELLED, type EventInput, type SessionUI } from '../../source/engine/events.js';
import type { SessionOptions } from '../../source/remediation/session.js';
import { FAST_RETRY, type TestSandbox } from './sandbox.js';

/** A SessionUI that records what it is shown. */
export type RecordingUI = SessionUI & { events: EventInput[] };

/** A UI that approves and confirms everything and records events; `onEvent` sees each one. */
export function recordingUI(onEvent?: (event: EventInput) => void): RecordingUI {
  const events: EventInput[] = [];
  return {
    events,
    emit: (event) => { events.push(event); onEvent?.(event); },
    approve: async () => true,
    confirm: async () => true,
    askSecret: async () => CANCELLED,
  };
}

/**
 * Auto-approved session options for `box`: the product state in `<box state>/doctor`, the
 * sandbox's admin secrets, a 20 s online deadline, fast polling and retries; `overrides` win.
 */
export function sessionOptions(
  box: TestSandbox,
  overrides: Partial<SessionOptions> = {},
): SessionOptions {
  const secrets = box.sandbox.adminSecrets;
  return {
    target: box.target,
    connection: box.connection,
    stateDir: join(box.stateDir, 'doctor'),
    isAutoApproved: true,
    signal: new AbortController().signal,
    secrets: { resolve: async (key) => secrets[key] },
    onlineDeadlineMs: 20_000,
    tuning: { pollIntervalMs: 20, installRetryDelaysMs: [0, 0, 0] },
    retry: FAST_RETRY,
    ...overrides,
  };
}
