/**
 * Text shared by every human-facing presenter: plan marks, the plan tally, elapsed times and
 * outcome labels. The Ink screens and the plain line presenter both use these, so a plan reads
 * the same in a terminal, in a CI log and in a screenshot attached to a ticket.
 */
import type { CommandName, SessionOutcome } from '../engine/events.js';
import { countPlan, type Plan, type PlanAction, type Severity } from '../engine/types.js';

/** Terraform-style marks: + create, ~ update, - delete, = keep. */
export const PLAN_MARK: Record<PlanAction, string> = {
  create: '+',
  update: '~',
  delete: '-',
  keep: '=',
};

/** "Plan: 5 to create, 3 to update, 0 to delete." plus what is left alone. */
export function formatTally(plan: Plan): string {
  const tally = countPlan(plan);
  const changes = `${tally.create} to create, ${tally.update} to update, ` +
    `${tally.delete} to delete`;
  const kept = tally.keep > 0 ? `, ${tally.keep} unchanged` : '';

  return `Plan: ${changes}${kept}.`;
}

/** "0.4 s", "12 s", "2 m 05 s". */
export function formatElapsed(ms: number): string {
  const safe = Math.max(0, ms);
  if (safe < 10_000) return `${(safe / 1000).toFixed(1)} s`;

  const seconds = Math.round(safe / 1000);
  if (seconds < 60) return `${seconds} s`;

  const rest = String(seconds % 60).padStart(2, '0');

  return `${Math.floor(seconds / 60)} m ${rest} s`;
}

/** What each outcome means to the admin, in a few words. */
export const OUTCOME_LABEL: Record<SessionOutcome, string> = {
  fixed: 'Fixed',
  healthy: 'Healthy',
  unhealthy: 'Unhealthy',
  'not-applicable': 'Not applicable',
  declined: 'Declined',
  'rolled-back': 'Rolled back',
  'nothing-to-roll-back': 'Nothing to roll back',
  failed: 'Failed',
  interrupted: 'Interrupted',
};

/** Outcomes that mean the admin got what they came for. */
export function isGoodOutcome(outcome: SessionOutcome): boolean {
  return outcome === 'fixed' || outcome === 'healthy' || outcome === 'rolled-back' ||
    outcome === 'nothing-to-roll-back';
}

/** Short severity tags for findings. */
export const SEVERITY_TAG: Record<Severity, string> = {
  ok: 'ok',
  info: 'info',
  warning: 'warning',
  problem: 'problem',
};

/** The line the summary shows for the end-to-end API test, when it ran. */
export function formatApiTest(isApiReachable: boolean | undefined): string | undefined {
  if (isApiReachable === undefined) return undefined;
  if (isApiReachable) {
    return 'End-to-end API test passed through the self-hosted integration runtime.';
  }

  return 'End-to-end API test failed: the API was not reached through the runtime.';
}

/**
 * The header's note on a session opened from its journal. A rollback always opens the session
 * it undoes, so "resumed" would tell the admin nothing there, and suggest a fix went on.
 */
export function resumedNote(command: CommandName, isResumed: boolean): string {
  return isResumed && command !== 'rollback' ? ' (resumed)' : '';
}
