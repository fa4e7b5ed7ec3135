/**
 * The one place that decides whether a human is at the keyboard.
 *
 * A session is interactive only when stdin and stdout are both terminals, the process does not
 * run under CI, and neither `--yes` nor `--json` was passed. Decide it once, at start-up, and
 * pass the answer on; never test `isTTY` anywhere else.
 *
 * When to use which:
 * - `isInteractive(...)`: before mounting Ink, before prompting, before asking for a secret.
 *   Ink 6 misbehaves otherwise: under `CI=true` it writes the live area only at exit, it does
 *   not notice a piped stdout, and `useInput` throws when stdin cannot enter raw mode.
 * - `isCi(env)`: only to explain why a session was not interactive.
 */

/** What the decision depends on; the defaults read the real process. */
export interface InteractivityInput {
  isStdinTty: boolean;
  isStdoutTty: boolean;
  env: NodeJS.ProcessEnv;
  /** `--yes`: the admin approved in advance, so nothing may wait for a key press. */
  isAutoApproved: boolean;
  /** `--json`: stdout belongs to the machine reader. */
  isJson: boolean;
}

/** True when the environment says a CI system runs us (any non-empty, non-false `CI`). */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI;
  if (value === undefined || value === '') return false;

  return value !== '0' && value.toLowerCase() !== 'false';
}

/** True when Ink may be mounted and the admin may be asked questions. */
export function isInteractive(input: InteractivityInput): boolean {
  if (input.isJson || input.isAutoApproved) return false;
  if (!input.isStdinTty || !input.isStdoutTty) return false;

  return !isCi(input.env);
}

/** Reads the terminal facts of this process; the flags come from the command line. */
export function detectInteractivity(flags: { isAutoApproved: boolean; isJson: boolean }): boolean {
  return isInteractive({
    isStdinTty: process.stdin.isTTY === true,
    isStdoutTty: process.stdout.isTTY === true,
    env: process.env,
    ...flags,
  });
}
