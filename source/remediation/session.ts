/**
 * The session orchestration behind every command: fix, plan, verify and rollback.
 *
 * Shape of a session: build the SDK clients → open the journal (fix resumes the unfinished
 * session for the same target) → one event bus feeding the presenter and the session log →
 * `session.started` → the command's work → reports → `session.finished` with a summary and the
 * exit code. Every path ends with exactly one `session.finished`, including failures.
 *
 * Fix: detect → findings → plan → (no changes: healthy, exit 0) → approval (flag or prompt;
 * declined: exit 6) → every masked secret asked for → the step graph (host steps, backup,
 * rewire, prove) → summary. A workspace that is not DEP-locked is not-applicable (exit 4) and
 * nothing changes. A resumed session with nothing left to change runs the end-to-end test
 * again rather than calling the workspace healthy.
 */
import { join } from 'node:path';

import { toDoctorError } from '../azure/errors.js';
import { createClients, type ClientHooks } from '../azure/clients.js';
import type { AzureClients, Connection } from '../azure/types.js';
import { createEventBus, createMemorySink, type EventBus } from '../engine/bus.js';
import { DoctorError, ExitCode, isDoctorError, type ErrorInfo } from '../engine/errors.js';
import {
  CANCELLED,
  type CommandName,
  type DoctorEvent,
  type EventInput,
  type SessionOutcome,
  type SessionSummary,
  type SessionUI,
} from '../engine/events.js';
import {
  findResumableSession,
  openJournal,
  readJournal,
  type FileJournal,
  type JournalContents,
  type JournalEntry,
} from '../engine/journal.js';
import { registerUrlPassword } from '../engine/redact.js';
import { runSteps, type RunResult } from '../engine/runner.js';
import { openSessionLog, type SessionLog } from '../engine/session-log.js';
import type { Step } from '../engine/step.js';
import { countPlan, planHasChanges, type Plan, type Target } from '../engine/types.js';
import { writeReports } from '../report/index.js';
import type {
  EndToEndResult,
  FixContext,
  InfrastructureTuning,
  SecretSource,
} from './context.js';
import { detect, type DetectResult } from './detect.js';
import { infrastructureSteps } from './host.js';
import { makePlan, type PlanResult } from './plan.js';
import { proveStep } from './prove.js';
import { backupStep, preflightSecrets, rewireStep } from './rewire.js';
import { isOurs as isOursInAzure } from './rollback.js';
import { verifyApiUrl } from './verify.js';

/** What every command needs; the CLI builds it. */
export interface SessionOptions {
  target: Target;
  connection: Connection;
  stateDir: string;
  isAutoApproved: boolean;
  signal: AbortSignal;
  secrets: SecretSource;
  /** fix: resume this session; rollback: roll back this session (default: the latest). */
  sessionId?: string;
  /** rollback: also delete the resources the session created. */
  deleteCreated?: boolean;
  /** How long to wait for the node to come Online. */
  onlineDeadlineMs?: number;
  /** Wait and retry tuning for the host steps (tests shorten it). */
  tuning?: InfrastructureTuning;
  /** SDK retry overrides (tests shrink the delays). */
  retry?: ClientHooks['retry'];
  /** How the summary spells its next commands (default: `shir-doctor <command>` alone). */
  rerun?: RerunSpelling;
}

/** The program and flags that make a suggested command run as typed against the same target. */
export interface RerunSpelling {
  /** `shir-doctor`, or `node dist/cli.js` when that is how the tool was started. */
  program: string;
  /** `--sandbox`, the target flags, a non-default `--state-dir`, already shell-quoted. */
  flags: string[];
}

/** `shir-doctor verify` spelled to be copy-pasted: the same program, target and state. */
export function spellNextCommand(command: string, rerun: RerunSpelling | undefined): string {
  if (rerun === undefined || !command.startsWith('shir-doctor ')) return command;

  const rest = command.slice('shir-doctor '.length);
  return [rerun.program, rest, ...rerun.flags].join(' ');
}

export interface SessionResult {
  summary: SessionSummary;
  exitCode: number;
}

/** A running session: clients, journal, bus, and what the summary needs. */
export interface Session {
  command: CommandName;
  options: SessionOptions;
  clients: AzureClients;
  journal: FileJournal;
  bus: EventBus;
  events: DoctorEvent[];
  log: SessionLog;
  /** A SessionUI whose events go through the bus (redacted, logged). */
  ui: SessionUI;
  /** Retries the SDK clients reported so far. */
  counters: { retries: number };
}

// ---- session scaffolding ---------------------------------------------------------------------

/** Opens the journal, log and bus, and emits `session.started`. */
export async function openSession(
  command: CommandName,
  options: SessionOptions,
  presenter: SessionUI,
  sessionId?: string,
): Promise<Session> {
  registerUrlPassword(options.target.proxyUrl);
  registerUrlPassword(options.target.apiUrl);
  const journal = await openJournal({ stateDir: options.stateDir, target: options.target,
    command, sessionId });
  const log = openSessionLog(`${journal.directory}/session.log.jsonl`);
  const memory = createMemorySink();
  const bus = createEventBus([(event) => presenter.emit(event), log.sink, memory.sink]);
  const counters = { retries: 0 };
  const clients = createClients(options.connection, options.target.subscriptionId, {
    retry: options.retry,
    onRetry: (info) => {
      counters.retries += 1;
      bus.emit({ type: 'retry', ...info });
    },
  });
  const session: Session = { command, options, clients, journal, bus, log, counters,
    events: memory.events, ui: throughBus(presenter, bus) };

  bus.emit({ type: 'session.started', sessionId: journal.sessionId, command,
    target: options.target, mode: options.connection.kind, isResumed: journal.isResumed });
  return session;
}

/** The presenter's prompts, with its events routed through the bus. */
function throughBus(presenter: SessionUI, bus: EventBus): SessionUI {
  return {
    emit: (event: EventInput) => { bus.emit(event); },
    approve: (plan) => presenter.approve(plan),
    confirm: (question) => presenter.confirm(question),
    askSecret: (question) => presenter.askSecret(question),
  };
}

/** Everything a summary needs besides the outcome. */
export interface Ending {
  outcome: SessionOutcome;
  headline: string;
  exitCode: number;
  isApiReachable?: boolean;
  error?: ErrorInfo;
  nextCommands?: string[];
}

/** Writes the summary, emits `session.finished`, closes the journal and the log. */
export async function finishSession(session: Session, ending: Ending): Promise<SessionResult> {
  const summary: SessionSummary = {
    outcome: ending.outcome,
    headline: ending.headline,
    isApiReachable: ending.isApiReachable,
    changes: await changesOf(session),
    reportPaths: {},
    nextCommands: (ending.nextCommands ?? [])
      .map((command) => spellNextCommand(command, session.options.rerun)),
    retries: session.counters.retries,
    ...(ending.error ? { error: ending.error } : {}),
  };
  summary.reportPaths = await writeSessionReports(session, summary);

  session.bus.emit({ type: 'session.finished', summary, exitCode: ending.exitCode });
  if (ending.outcome !== 'interrupted') await session.journal.markFinished(ending.outcome);
  await session.journal.close();
  session.log.close();
  return { summary, exitCode: ending.exitCode };
}

async function writeSessionReports(
  session: Session,
  summary: SessionSummary,
): Promise<SessionSummary['reportPaths']> {
  try {
    return await writeReports({ directory: reportDirectory(session),
      target: session.options.target,
      events: session.events, summary, journal: await readJournal(session.journal.directory) });
  } catch (error) {
    session.log.debug('reports were not written', { error: String(error) });
    return {};
  }
}

/** A rollback shares its fix session's folder; its report must not replace the fix's. */
function reportDirectory(session: Session): string {
  if (session.command !== 'rollback') return session.journal.directory;
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  return join(session.journal.directory, `rollback-${stamp}`);
}

const SKIPPED_IN_CHANGES = new Set(['test-pipeline', 'run-command']);

async function changesOf(session: Session): Promise<SessionSummary['changes']> {
  const changes = { created: [] as string[], updated: [] as string[], deleted: [] as string[] };
  const contents = await readJournal(session.journal.directory).catch(() => undefined);
  if (!contents) return changes;
  // A rollback shares its fix session's journal: count only what it did itself.
  const since = session.command === 'rollback' ? lastOpenedAt(contents.entries) : '';
  for (const { change, result, at } of contents.changes) {
    if (at < since) continue;
    if (!result?.isOk || SKIPPED_IN_CHANGES.has(change.kind)) continue;
    const list = change.action === 'create' ? changes.created
      : change.action === 'update' ? changes.updated : changes.deleted;
    const name = `${change.kind} ${change.name}`;
    if (!list.includes(name)) list.push(name);
  }
  if (session.command === 'fix') {
    for (const name of await takenOver(session, contents)) {
      if (!changes.created.includes(name)) changes.created.push(name);
    }
  }
  return changes;
}

/**
 * Creates an earlier run of this session cut off in flight (no outcome) whose resource exists
 * and carries the session's tag: the rerun took them over instead of creating them again, so
 * they were created by this session all the same (e.g. the VM).
 */
async function takenOver(session: Session, contents: JournalContents): Promise<string[]> {
  const since = lastOpenedAt(contents.entries);
  const names: string[] = [];
  for (const { change, result, at } of contents.changes) {
    if (result !== undefined || at >= since || change.action !== 'create') continue;
    if (SKIPPED_IN_CHANGES.has(change.kind)) continue;
    const isOurs = await isOursInAzure(session.clients, change.resourceId, contents.sessionId)
      .catch(() => false);
    if (isOurs) names.push(`${change.kind} ${change.name}`);
  }
  return names;
}

function lastOpenedAt(entries: JournalEntry[]): string {
  const opened = entries.filter((entry) => entry.type === 'opened');
  return opened[opened.length - 1]?.at ?? '';
}

/** Ends a session on an error thrown outside the step graph. */
export async function failSession(session: Session, error: unknown): Promise<SessionResult> {
  const doctorError = asDoctorError(error, session.command);
  const isInterrupted = doctorError.info.exitCode === ExitCode.interrupted ||
    session.options.signal.aborted;
  return finishSession(session, {
    outcome: isInterrupted ? 'interrupted' : 'failed',
    headline: doctorError.info.what,
    exitCode: isInterrupted ? ExitCode.interrupted : doctorError.info.exitCode,
    error: doctorError.info,
    nextCommands: isInterrupted ? [`shir-doctor ${session.command}`] : [],
  });
}

function asDoctorError(error: unknown, command: CommandName): DoctorError {
  if (isDoctorError(error)) return error;
  return toDoctorError(error, { operation: `run shir-doctor ${command}` });
}

/** Runs the command body; any throw becomes a finished, failed session. */
async function guarded(
  session: Session,
  body: () => Promise<SessionResult>,
): Promise<SessionResult> {
  try {
    return await body();
  } catch (error) {
    return failSession(session, error);
  }
}

// ---- detect and plan, shared by fix and plan --------------------------------------------------

/** Detects and emits one `finding` event per finding. */
async function detectAndReport(session: Session): Promise<DetectResult> {
  const result = await detect(session.clients, session.options.target);
  for (const finding of result.findings) session.bus.emit({ type: 'finding', finding });
  return result;
}

function notApplicable(session: Session, result: DetectResult): Promise<SessionResult> {
  const finding = result.findings.find((item) => item.id === 'workspace.not-dep-locked');
  return finishSession(session, {
    outcome: 'not-applicable',
    headline: finding?.title ?? 'The workspace is not DEP-locked; nothing to change.',
    exitCode: ExitCode.blocked,
    nextCommands: [],
  });
}

function planAndReport(session: Session, result: DetectResult): PlanResult {
  const planned = makePlan(result.inventory, session.options.target,
    { sessionId: session.journal.sessionId });
  session.bus.emit({ type: 'plan.ready', plan: planned.plan });
  return planned;
}

function tally(plan: Plan): string {
  const counts = countPlan(plan);
  return `Plan: ${counts.create} to create, ${counts.update} to update, ` +
    `${counts.delete} to delete`;
}

function nothingToDo(
  session: Session,
  detected: DetectResult,
  planned: PlanResult,
): Promise<SessionResult> {
  const { linkedServices, pipelines } = detected.inventory;
  const isAnyOnShir = [...linkedServices, ...pipelines]
    .some((item) => item.classification === 'on-shir');
  return finishSession(session, {
    outcome: 'healthy',
    headline: isAnyOnShir
      ? `Nothing to change: the affected connections already run on ` +
        `${planned.decisions.runtimeName}.`
      : 'Nothing to change: no linked service or Web activity calls an internet API from ' +
        'the managed runtime.',
    exitCode: ExitCode.ok,
    nextCommands: ['shir-doctor verify'],
  });
}

// ---- fix -------------------------------------------------------------------------------------

/** The guided repair. */
export async function runFix(options: SessionOptions, ui: SessionUI): Promise<SessionResult> {
  const resumable = options.sessionId ? undefined :
    await findResumableSession(options.stateDir, options.target);
  const session = await openSession('fix', options, ui, options.sessionId ??
    resumable?.sessionId);
  return guarded(session, () => fixBody(session));
}

async function fixBody(session: Session): Promise<SessionResult> {
  const detected = await detectAndReport(session);
  if (!detected.inventory.workspace.isDepLocked) return notApplicable(session, detected);

  const planned = planAndReport(session, detected);
  if (!planHasChanges(planned.plan)) {
    return session.journal.isResumed
      ? proveAgain(session, detected, planned)
      : nothingToDo(session, detected, planned);
  }
  if (!(await approve(session, planned.plan))) return declined(session);

  const context = fixContext(session, detected, planned);
  await preflightSecrets(context);
  return finishFix(session, context, await runFixSteps(session, context, fixSteps()));
}

function runFixSteps(
  session: Session,
  context: FixContext,
  steps: Step<FixContext>[],
): Promise<RunResult> {
  return runSteps(steps, context, {
    emit: session.bus.emit,
    journal: session.journal,
    signal: session.options.signal,
    mapError: (error, step) => toDoctorError(error, { operation: step.title.toLowerCase() }),
  });
}

/**
 * A resumed session whose changes are all in place but whose end-to-end test never passed
 * (it failed or was interrupted): run the test again instead of calling it healthy.
 */
async function proveAgain(
  session: Session,
  detected: DetectResult,
  planned: PlanResult,
): Promise<SessionResult> {
  const context = fixContext(session, detected, planned);
  context.decisions.apiUrl ??= verifyApiUrl(detected.inventory, planned.decisions.runtimeName);
  const prove = { ...proveStep(), dependsOn: [] };
  return finishFix(session, context, await runFixSteps(session, context, [prove]));
}

/** Every step of a fix, in declaration order. */
export function fixSteps(): Step<FixContext>[] {
  return [...infrastructureSteps(), backupStep(), rewireStep(), proveStep()];
}

/** Asks the source once per key: a prompt answered before the run is not asked again. */
export function cachingSecrets(source: SecretSource): SecretSource {
  const answers = new Map<string, Promise<string | undefined>>();
  return {
    resolve(key) {
      const known = answers.get(key);
      if (known) return known;
      const answer = source.resolve(key);
      answers.set(key, answer);
      return answer;
    },
  };
}

async function approve(session: Session, plan: Plan): Promise<boolean> {
  if (session.options.isAutoApproved) {
    session.bus.emit({ type: 'plan.approved', by: 'flag' });
    return true;
  }
  const answer = await session.ui.approve(plan);
  if (answer === CANCELLED && session.options.signal.aborted) throw interruptedBeforeChanges();
  if (answer !== true) return false;
  session.bus.emit({ type: 'plan.approved', by: 'prompt' });
  return true;
}

function interruptedBeforeChanges(): DoctorError {
  return new DoctorError({
    code: 'interrupted',
    what: 'Interrupted at the approval prompt; nothing was changed.',
    fix: 'Run shir-doctor fix again when ready.',
    exitCode: ExitCode.interrupted,
  });
}

function declined(session: Session): Promise<SessionResult> {
  return finishSession(session, {
    outcome: 'declined',
    headline: 'The plan was declined; nothing was changed.',
    exitCode: ExitCode.declined,
    // The plan was just shown: what applies it is a fix with --yes (or a yes at the prompt).
    nextCommands: ['shir-doctor fix --yes'],
  });
}

function fixContext(session: Session, detected: DetectResult, planned: PlanResult): FixContext {
  const { options } = session;
  return {
    target: options.target,
    clients: session.clients,
    ui: session.ui,
    secrets: cachingSecrets(options.secrets),
    inventory: detected.inventory,
    decisions: planned.decisions,
    produced: {},
    tuning: { ...options.tuning,
      ...(options.onlineDeadlineMs !== undefined ? { onlineDeadlineMs: options.onlineDeadlineMs }
        : {}) },
  };
}

function finishFix(
  session: Session,
  context: FixContext,
  result: RunResult,
): Promise<SessionResult> {
  const e2e = context.produced.e2e;
  if (result.isAborted) {
    return finishSession(session, {
      outcome: 'interrupted',
      headline: 'Interrupted; run shir-doctor fix again to resume where it stopped.',
      exitCode: ExitCode.interrupted,
      nextCommands: ['shir-doctor fix', 'shir-doctor rollback'],
    });
  }
  if (result.isSuccess && e2e?.isPassing) {
    return finishSession(session, {
      outcome: 'fixed',
      // The summary's API-test line already says it passed; the headline adds the evidence.
      headline: `Through the self-hosted runtime ${context.decisions.runtimeName}, ` +
        `${answerOf(e2e)}.`,
      exitCode: ExitCode.ok,
      isApiReachable: true,
      nextCommands: ['shir-doctor verify'],
    });
  }
  return failedFix(session, result, e2e?.isPassing);
}

/** `GET <url> answered 200 in 0.4 s`, from the end-to-end result; no time when none is known. */
export function answerOf(e2e: EndToEndResult): string {
  const status = e2e.statusCode ? String(e2e.statusCode) : 'with a 2xx status';
  const ms = e2e.durationMs;
  const took = ms === undefined || ms <= 0 ? '' : ms < 1000 ? ` in ${Math.round(ms)} ms`
    : ` in ${(ms / 1000).toFixed(1)} s`;
  return `GET ${e2e.apiUrl} answered ${status}${took}`;
}

function failedFix(
  session: Session,
  result: RunResult,
  isApiReachable: boolean | undefined,
): Promise<SessionResult> {
  const error = result.firstError;
  return finishSession(session, {
    outcome: 'failed',
    headline: error ? error.what : 'The repair did not complete.',
    exitCode: error?.exitCode ?? ExitCode.applyFailed,
    isApiReachable,
    error,
    nextCommands: ['shir-doctor fix', 'shir-doctor rollback'],
  });
}

// ---- plan ------------------------------------------------------------------------------------

/** Detect and plan only; changes nothing. */
export async function runPlanOnly(options: SessionOptions, ui: SessionUI): Promise<SessionResult> {
  const session = await openSession('plan', options, ui);
  return guarded(session, async () => {
    const detected = await detectAndReport(session);
    if (!detected.inventory.workspace.isDepLocked) return notApplicable(session, detected);

    const planned = planAndReport(session, detected);
    if (!planHasChanges(planned.plan)) return nothingToDo(session, detected, planned);
    return finishSession(session, {
      outcome: 'unhealthy',
      headline: `${tally(planned.plan)}. Nothing was changed.`,
      exitCode: ExitCode.ok,
      nextCommands: ['shir-doctor fix'],
    });
  });
}

export { runVerify } from './verify.js';
export { runRollback } from './rollback.js';
export { guarded, detectAndReport, notApplicable };
