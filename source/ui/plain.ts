/**
 * The plain line presenter: readable lines on stderr for CI logs, pipes and `--yes` runs.
 *
 * It never waits for a key. Approval policy: with `--yes` it approves and confirms; without it
 * it declines and says to pass `--yes`, because nobody is there to answer. Secrets are never
 * asked for here: `askSecret` answers CANCELLED and the core explains the other ways to give one.
 */
import {
  CANCELLED,
  type CommandName,
  type DoctorEvent,
  type EventInput,
  type SessionSummary,
} from '../engine/events.js';
import type { ErrorInfo } from '../engine/errors.js';
import type { Finding, Plan } from '../engine/types.js';
import {
  formatApiTest,
  formatElapsed,
  formatTally,
  OUTCOME_LABEL,
  PLAN_MARK,
  resumedNote,
  SEVERITY_TAG,
} from './format.js';
import { initialState, reduce, runningStepTitles, type SessionState } from './model.js';
import { stamp, type Presenter, type TextSink } from './presenter.js';

/** How the plain presenter writes and answers. */
export interface PlainOptions {
  command: CommandName;
  /** Where the lines go; stderr in the CLI. */
  sink: TextSink;
  /** `--yes`: approve plans and confirm risky actions without asking. */
  isAutoApproved: boolean;
}

/** The lines one event adds to the log; `state` is the state before the event. */
export function describeEvent(event: DoctorEvent, state: SessionState): string[] {
  switch (event.type) {
    case 'session.started':
      return describeStart(event);
    case 'finding':
      return describeFinding(event.finding);
    case 'plan.ready':
      return describePlan(event.plan);
    case 'plan.approved':
      return [`Plan approved (${event.by === 'flag' ? '--yes' : 'at the prompt'}).`];
    case 'step.started':
      return [`> ${event.title}`];
    case 'step.progress':
      return [`  ${titleIn(state, event.stepId)}: ${event.message}`];
    case 'step.succeeded':
      return [
        // The time right after the title: a long summary cannot push it across a wrap.
        `ok ${titleIn(state, event.stepId)} (${formatElapsed(event.elapsedMs)}): ${event.summary}`,
      ];
    case 'step.skipped':
      return [`-- ${event.title} skipped: ${event.reason}`];
    case 'step.failed':
      return [
        `FAILED ${titleIn(state, event.stepId)} (${formatElapsed(event.elapsedMs)})`,
        ...describeError(event.error, '   '),
      ];
    case 'retry':
      return [describeRetry(event)];
    case 'check':
      return [`${event.isPassing ? 'pass' : 'FAIL'} ${event.name}: ${event.detail}`];
    case 'log':
      return describeLog(event.level, event.message);
    case 'session.finished':
      return describeSummary(event.summary, event.exitCode);
  }
}

export function createPlainPresenter(options: PlainOptions): Presenter {
  let state = initialState(options.command);
  const write = (lines: string[]): void => {
    if (lines.length > 0) options.sink.write(`${lines.join('\n')}\n`);
  };

  return {
    emit(input: EventInput): void {
      const event = stamp(input);
      write(describeEvent(event, state));
      state = reduce(state, event);
    },
    async approve(): Promise<boolean> {
      if (options.isAutoApproved) return true;

      write(describeNeedsYes('apply the plan', 'review the plan above, then run again with --yes'));

      return false;
    },
    async confirm(question: string): Promise<boolean> {
      if (options.isAutoApproved) {
        write([`${question} yes (--yes)`]);

        return true;
      }
      write(describeNeedsYes(`answer "${question}"`, 'run again with --yes to answer yes'));

      return false;
    },
    async askSecret(): Promise<typeof CANCELLED> {
      return CANCELLED;
    },
    onInterrupt(): void {},
    cancelPrompts(): void {},
    runningSteps: () => runningStepTitles(state),
    showError(error: ErrorInfo): void {
      write(describeError(error, '').map((line, index) => (index === 0 ? `error: ${line}` : line)));
    },
    async close(): Promise<void> {},
  };
}

function describeStart(event: Extract<DoctorEvent, { type: 'session.started' }>): string[] {
  const { target } = event;
  const resumed = resumedNote(event.command, event.isResumed);

  return [
    `shir-doctor ${event.command} · ${event.mode} · session ${event.sessionId}${resumed}`,
    `workspace ${target.workspaceName} in ${target.resourceGroup} ` +
      `(subscription ${target.subscriptionId})`,
  ];
}

function describeFinding(finding: Finding): string[] {
  const evidence = finding.evidence.map((line) => `    - ${line}`);

  return [`[${SEVERITY_TAG[finding.severity]}] ${finding.title}`, ...evidence];
}

/** The Terraform-style plan: one marked line per item, its evidence, then the tally. */
export function describePlan(plan: Plan): string[] {
  const lines = plan.items.flatMap((item) => [
    `  ${PLAN_MARK[item.action]} ${item.kind} ${item.name}${item.detail ? ` ${item.detail}` : ''}`,
    ...item.evidence.map((line) => `      because ${line}`),
  ]);

  return ['Plan:', ...lines, formatTally(plan)];
}

function describeLog(level: 'debug' | 'info' | 'warn', message: string): string[] {
  if (level === 'debug') return [];

  return [level === 'warn' ? `warning: ${message}` : message];
}

function describeRetry(event: Extract<DoctorEvent, { type: 'retry' }>): string {
  const status = event.statusCode === undefined ? '' : ` after HTTP ${event.statusCode}`;

  const delay = formatElapsed(event.delayMs);

  return `  retry ${event.attempt} of ${event.operation}${status} in ${delay}`;
}

function describeError(error: ErrorInfo, indent: string): string[] {
  const why = error.why === undefined ? [] : [`${indent}why: ${error.why}`];

  return [`${indent}${error.what}`, ...why, `${indent}fix: ${error.fix}`];
}

/** The closing block: outcome, headline, API test, changes, reports, next commands. */
export function describeSummary(summary: SessionSummary, exitCode: number): string[] {
  const apiTest = formatApiTest(summary.isApiReachable);
  const { created, updated, deleted } = summary.changes;
  const lines = [
    '',
    `Outcome: ${OUTCOME_LABEL[summary.outcome]} (exit ${exitCode})`,
    ...(apiTest === undefined ? [] : [apiTest]),
    summary.headline,
    ...created.map((name) => `  + ${name}`),
    ...updated.map((name) => `  ~ ${name}`),
    ...deleted.map((name) => `  - ${name}`),
    ...(summary.retries > 0 ? [`Retries: ${summary.retries}`] : []),
    ...describeReports(summary),
    ...summary.nextCommands.map((command) => `Next: ${command}`),
  ];

  if (summary.error === undefined) return lines;

  const error = describeError(summary.error, '');

  return [...lines, ...(summary.error.what === summary.headline ? error.slice(1) : error)];
}

function describeReports(summary: SessionSummary): string[] {
  const { markdown, json } = summary.reportPaths;

  return [
    ...(markdown === undefined ? [] : [`Report: ${markdown}`]),
    ...(json === undefined ? [] : [`Report (JSON): ${json}`]),
  ];
}

function describeNeedsYes(action: string, fix: string): string[] {
  return [`error: cannot ${action}: nobody can answer a prompt here`, `fix: ${fix}`];
}

function titleIn(state: SessionState, stepId: string): string {
  return state.steps.find((step) => step.id === stepId)?.title ?? stepId;
}
