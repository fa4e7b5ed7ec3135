/**
 * The report's data: everything a change ticket needs, derived from the session's events, its
 * summary and its journal. Pure functions; no I/O. The Markdown and JSON reports are two
 * renderings of the same `ReportData`.
 */
import { basename, dirname } from 'node:path';

import type { ErrorInfo } from '../engine/errors.js';
import type { CommandName, DoctorEvent, SessionSummary } from '../engine/events.js';
import type { JournalContents, JournaledChange } from '../engine/journal.js';
import type { Finding, Plan, Target } from '../engine/types.js';

/** Report format version; bump when a field changes meaning. */
export const REPORT_VERSION = 1;

/** How one step ended, for the steps table. */
export interface ReportStep {
  id: string;
  title: string;
  status: 'succeeded' | 'skipped' | 'failed' | 'running';
  /** Success summary or skip reason. */
  detail?: string;
  elapsedMs?: number;
  error?: ErrorInfo;
}

/** One retry the clients made. */
export interface ReportRetry {
  operation: string;
  attempt: number;
  statusCode?: number;
  delayMs: number;
  at: string;
}

/** One backup the journal holds, and where. */
export interface ReportBackup {
  kind: string;
  name: string;
  path: string;
  etag?: string;
}

/** A change whose outcome was never recorded (the process stopped mid-change). */
export interface ReportUncertainChange {
  action: string;
  kind: string;
  name: string;
  resourceId: string;
}

/** Everything in report.json, and what report.md renders. */
export interface ReportData {
  reportVersion: number;
  generatedAt: string;
  session: {
    id?: string;
    command?: CommandName;
    mode?: 'sandbox' | 'azure';
    isResumed?: boolean;
    startedAt?: string;
    durationMs?: number;
    directory: string;
  };
  target: Target;
  outcome: SessionSummary['outcome'];
  headline: string;
  isApiReachable?: boolean;
  error?: ErrorInfo;
  findings: Finding[];
  plan?: Plan;
  approvedBy?: 'prompt' | 'flag';
  steps: ReportStep[];
  checks: Array<{ name: string; isPassing: boolean; detail: string }>;
  changes: SessionSummary['changes'];
  backups: ReportBackup[];
  uncertainChanges: ReportUncertainChange[];
  /** Restores the backed-up definitions; `--delete-created` also removes what was created. */
  rollbackCommand?: string;
  retries: { count: number; items: ReportRetry[] };
  warnings: string[];
  nextCommands: string[];
}

/** What `buildReport` works from. */
export interface ReportInput {
  /** The session directory (journal, backups); reports are written here. */
  directory: string;
  target: Target;
  events: readonly DoctorEvent[];
  summary: SessionSummary;
  /** The session's journal, when it has one. */
  journal?: JournalContents;
  now?: () => Date;
}

/** Derives the report data; pure, so presenters and tests can call it directly. */
export function buildReport(input: ReportInput): ReportData {
  const { events, summary, journal } = input;
  const started = events.find((event) => event.type === 'session.started');
  const session = started?.type === 'session.started' ? started : undefined;
  const generatedAt = (input.now ?? (() => new Date()))().toISOString();

  return {
    reportVersion: REPORT_VERSION,
    generatedAt,
    session: {
      id: session?.sessionId ?? journal?.sessionId,
      command: session?.command ?? journal?.command,
      mode: session?.mode,
      isResumed: session?.isResumed,
      startedAt: session?.at ?? journal?.startedAt,
      durationMs: durationOf(session?.at, events, generatedAt),
      directory: input.directory,
    },
    target: input.target,
    outcome: summary.outcome,
    headline: summary.headline,
    isApiReachable: summary.isApiReachable,
    error: summary.error,
    findings: collect(events, 'finding').map((event) => event.finding),
    plan: last(collect(events, 'plan.ready'))?.plan,
    approvedBy: last(collect(events, 'plan.approved'))?.by,
    steps: stepsOf(events),
    checks: collect(events, 'check').map(({ name, isPassing, detail }) => ({
      name,
      isPassing,
      detail,
    })),
    changes: summary.changes,
    backups: backupsOf(journal),
    uncertainChanges: (journal?.uncertain ?? []).map(toUncertain),
    rollbackCommand: rollbackCommandOf(input, session?.mode, journal),
    retries: retriesOf(events, summary),
    warnings: collect(events, 'log')
      .filter((event) => event.level === 'warn')
      .map((event) => event.message),
    nextCommands: summary.nextCommands,
  };
}

type EventOf<T extends DoctorEvent['type']> = Extract<DoctorEvent, { type: T }>;

function collect<T extends DoctorEvent['type']>(
  events: readonly DoctorEvent[],
  type: T,
): EventOf<T>[] {
  return events.filter((event): event is EventOf<T> => event.type === type);
}

function last<T>(items: T[]): T | undefined {
  return items[items.length - 1];
}

function durationOf(
  startedAt: string | undefined,
  events: readonly DoctorEvent[],
  generatedAt: string,
): number | undefined {
  if (!startedAt) return undefined;

  // Reports are usually written just before session.finished: the last event marks the end.
  const end = collect(events, 'session.finished')[0] ?? events[events.length - 1];
  const finished = end?.at ?? generatedAt;
  const duration = Date.parse(finished) - Date.parse(startedAt);
  return Number.isFinite(duration) && duration >= 0 ? duration : undefined;
}

/** The last word on each step, in the order steps first appeared. */
function stepsOf(events: readonly DoctorEvent[]): ReportStep[] {
  const steps = new Map<string, ReportStep>();
  for (const event of events) {
    const step = toStep(event, steps);
    if (step) steps.set(step.id, step);
  }
  return [...steps.values()];
}

function toStep(event: DoctorEvent, known: Map<string, ReportStep>): ReportStep | undefined {
  const title = (id: string) => known.get(id)?.title ?? id;
  switch (event.type) {
    case 'step.started':
      return { id: event.stepId, title: event.title, status: 'running' };
    case 'step.succeeded': {
      const { stepId: id, summary: detail, elapsedMs } = event;
      return { id, title: title(id), status: 'succeeded', detail, elapsedMs };
    }
    case 'step.skipped':
      return { id: event.stepId, title: event.title, status: 'skipped', detail: event.reason };
    case 'step.failed': {
      const { stepId: id, error, elapsedMs } = event;
      return { id, title: title(id), status: 'failed', detail: error.what, elapsedMs, error };
    }
    default:
      return undefined;
  }
}

function backupsOf(journal: JournalContents | undefined): ReportBackup[] {
  const backups = journal?.backups ?? [];
  return backups.map(({ kind, name, path, etag }) => ({ kind, name, path, etag }));
}

function toUncertain({ change }: JournaledChange): ReportUncertainChange {
  const { action, kind, name, resourceId } = change;
  return { action, kind, name, resourceId };
}

/**
 * The full rollback command line for this session: target (or `--sandbox`), state folder and
 * session id. Only sessions that changed something can be rolled back.
 */
function rollbackCommandOf(
  input: ReportInput,
  mode: 'sandbox' | 'azure' | undefined,
  journal: JournalContents | undefined,
): string | undefined {
  const sessionId = journal?.sessionId ?? sessionIdOf(input.events);
  const { created, updated, deleted } = input.summary.changes;
  const hasChanges = created.length + updated.length + deleted.length > 0;
  const hasJournaled = (journal?.changes.length ?? 0) > 0;
  if (!sessionId || !(hasChanges || hasJournaled)) return undefined;

  const { subscriptionId, resourceGroup, workspaceName } = input.target;
  const where = mode === 'sandbox'
    ? ['--sandbox']
    : ['--subscription', subscriptionId, '--resource-group', resourceGroup,
      '--workspace', workspaceName];
  const stateDir = stateDirOf(input.directory);
  const state = stateDir ? ['--state-dir', stateDir] : [];
  return ['shir-doctor', 'rollback', ...where, ...state, '--session', sessionId]
    .map(shellQuote)
    .join(' ');
}

function sessionIdOf(events: readonly DoctorEvent[]): string | undefined {
  const started = collect(events, 'session.started')[0];
  return started?.sessionId;
}

/** `<stateDir>/sessions/<id>` → `<stateDir>`; undefined for any other layout. */
function stateDirOf(directory: string): string | undefined {
  const parent = dirname(directory);
  return basename(parent) === 'sessions' ? dirname(parent) : undefined;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function retriesOf(
  events: readonly DoctorEvent[],
  summary: SessionSummary,
): ReportData['retries'] {
  const items = collect(events, 'retry').map((event) => {
    const { operation, attempt, statusCode, delayMs, at } = event;
    return { operation, attempt, statusCode, delayMs, at };
  });
  return { count: Math.max(summary.retries, items.length), items };
}
