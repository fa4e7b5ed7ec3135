/**
 * The session as a presenter sees it: a pure reducer over DoctorEvents and prompt actions.
 *
 * Every screen is a function of this state (and of the clock, for elapsed times that tick).
 * The transcript is append-only: whatever will not change again (the header, each finding,
 * the plan and how it was decided, each finished step, each check, log lines, the summary)
 * goes there in arrival order, so Ink prints it once above the live area. The live area keeps
 * only what still moves (running steps, the open prompt), so it fits any terminal and Ink
 * never has to clear the screen.
 */
import type { ErrorInfo } from '../engine/errors.js';
import type {
  CommandName,
  DoctorEvent,
  SessionSummary,
} from '../engine/events.js';
import { planHasChanges, type Finding, type Plan, type Target } from '../engine/types.js';

/** One step of the task list; each status carries only the fields valid in it. */
export type StepView =
  | { status: 'running'; id: string; title: string; startedAt: number; progress?: string }
  | { status: 'succeeded'; id: string; title: string; summary: string; elapsedMs: number }
  | { status: 'skipped'; id: string; title: string; reason: string }
  | { status: 'failed'; id: string; title: string; error: ErrorInfo; elapsedMs: number };

/** A step that will not change again. */
export type FinishedStep = Exclude<StepView, { status: 'running' }>;

/** What a session.started event told us. */
export interface SessionHeader {
  sessionId: string;
  command: CommandName;
  target: Target;
  mode: 'sandbox' | 'azure';
  isResumed: boolean;
}

/** A question the admin must answer before the session goes on. */
export type Prompt =
  | { kind: 'approve'; plan: Plan }
  | { kind: 'confirm'; question: string }
  | { kind: 'secret'; question: string };

/** How a plan was settled: nothing to do, approved, or declined. */
export type PlanDecision = 'no-changes' | 'approved' | 'declined';

/** One verify check as the screen shows it. */
export interface CheckView {
  name: string;
  isPassing: boolean;
  detail: string;
}

/** A log line worth showing a human (debug lines go to the session log only). */
export interface LogLine {
  level: 'info' | 'warn';
  message: string;
}

/** Something printed once and never redrawn. */
export type TranscriptBlock =
  | { kind: 'header'; header: SessionHeader }
  | { kind: 'finding'; finding: Finding }
  | { kind: 'plan'; plan: Plan }
  | { kind: 'decision'; decision: PlanDecision }
  | { kind: 'steps-heading' }
  | { kind: 'checks-heading' }
  | { kind: 'step'; step: FinishedStep }
  | { kind: 'check'; check: CheckView }
  | { kind: 'log'; line: LogLine }
  | { kind: 'summary'; summary: SessionSummary; exitCode: number };

/** Everything the screen shows; built only by `reduce`. */
export interface SessionState {
  /** The command the CLI runs, known before the session starts. */
  command: CommandName;
  /** Set by session.started. */
  header?: SessionHeader;
  /** Blocks that are settled, in the order they were settled. */
  transcript: TranscriptBlock[];
  /** A plan with changes was shown and is not decided yet. */
  isAwaitingDecision: boolean;
  /** Every step in the order it first appeared, in its latest status. */
  steps: StepView[];
  checks: CheckView[];
  /** How many retries the Azure clients reported. */
  retries: number;
  /** The open prompt, if any; the presenter resolves it. */
  prompt?: Prompt;
  /** Set by session.finished. */
  summary?: SessionSummary;
  exitCode?: number;
}

/** Opens a prompt (the presenter holds the promise). */
export interface PromptOpened {
  type: 'prompt.opened';
  prompt: Prompt;
}

/** Closes the open prompt; `isApproved` matters only for plan approval. */
export interface PromptClosed {
  type: 'prompt.closed';
  isApproved?: boolean;
}

/** What changes the state: the core's events and the presenter's prompt bookkeeping. */
export type SessionAction = DoctorEvent | PromptOpened | PromptClosed;

export function initialState(command: CommandName): SessionState {
  return {
    command,
    transcript: [],
    isAwaitingDecision: false,
    steps: [],
    checks: [],
    retries: 0,
  };
}

/** The steps still running, in the order they started. */
export function runningSteps(state: SessionState): Extract<StepView, { status: 'running' }>[] {
  return state.steps.filter((step) => step.status === 'running');
}

/** Titles of the steps still running, for the Ctrl-C message. */
export function runningStepTitles(state: SessionState): string[] {
  return runningSteps(state).map((step) => step.title);
}

export function reduce(state: SessionState, action: SessionAction): SessionState {
  switch (action.type) {
    case 'session.started': {
      const { sessionId, command, target, mode, isResumed } = action;
      const header = { sessionId, command, target, mode, isResumed };

      return { ...append(state, { kind: 'header', header }), header };
    }
    case 'finding':
      return append(state, { kind: 'finding', finding: action.finding });
    case 'plan.ready':
      return reducePlan(state, action.plan);
    case 'plan.approved':
      return settlePlan(state, 'approved');
    case 'step.started':
      return startStep(settlePlan(state, 'approved'), action);
    case 'step.progress':
      return reduceProgress(state, action.stepId, action.message);
    case 'step.succeeded': {
      const { stepId, summary, elapsedMs } = action;
      const title = titleOf(state, stepId);

      return finishStep(state, { status: 'succeeded', id: stepId, title, summary, elapsedMs });
    }
    case 'step.skipped': {
      const { stepId, title, reason } = action;

      return finishStep(state, { status: 'skipped', id: stepId, title, reason });
    }
    case 'step.failed': {
      const { stepId, error, elapsedMs } = action;
      const title = titleOf(state, stepId);

      return finishStep(state, { status: 'failed', id: stepId, title, error, elapsedMs });
    }
    case 'retry':
      return { ...state, retries: state.retries + 1 };
    case 'check': {
      const check = { name: action.name, isPassing: action.isPassing, detail: action.detail };

      const isFirst = state.checks.length === 0;
      const headed = isFirst ? append(state, { kind: 'checks-heading' }) : state;

      return { ...append(headed, { kind: 'check', check }), checks: [...state.checks, check] };
    }
    case 'log':
      if (action.level === 'debug') return state;

      return append(state, { kind: 'log', line: { level: action.level, message: action.message } });
    case 'session.finished':
      return reduceFinished(state, action.summary, action.exitCode);
    case 'prompt.opened':
      return { ...state, prompt: action.prompt };
    case 'prompt.closed':
      return reducePromptClosed(state, action.isApproved);
  }
}

function append(state: SessionState, block: TranscriptBlock): SessionState {
  return { ...state, transcript: [...state.transcript, block] };
}

function reducePlan(state: SessionState, plan: Plan): SessionState {
  const shown = append(state, { kind: 'plan', plan });
  if (!planHasChanges(plan)) return append(shown, { kind: 'decision', decision: 'no-changes' });

  return { ...shown, isAwaitingDecision: true };
}

/** Records how a shown plan was decided, once. */
function settlePlan(state: SessionState, decision: PlanDecision): SessionState {
  if (!state.isAwaitingDecision) return state;

  return { ...append(state, { kind: 'decision', decision }), isAwaitingDecision: false };
}

function startStep(
  state: SessionState,
  event: Extract<DoctorEvent, { type: 'step.started' }>,
): SessionState {
  const isFirst = state.steps.length === 0;
  const withHeading = isFirst ? append(state, { kind: 'steps-heading' }) : state;
  const step: StepView = {
    status: 'running',
    id: event.stepId,
    title: event.title,
    startedAt: Date.parse(event.at),
  };

  return upsertStep(withHeading, step);
}

function finishStep(state: SessionState, step: FinishedStep): SessionState {
  const isFirst = state.steps.length === 0;
  const withHeading = isFirst ? append(state, { kind: 'steps-heading' }) : state;

  return upsertStep(append(withHeading, { kind: 'step', step }), step);
}

function upsertStep(state: SessionState, step: StepView): SessionState {
  const index = state.steps.findIndex((existing) => existing.id === step.id);
  if (index === -1) return { ...state, steps: [...state.steps, step] };

  const steps = state.steps.slice();
  steps[index] = step;

  return { ...state, steps };
}

function titleOf(state: SessionState, stepId: string): string {
  return state.steps.find((step) => step.id === stepId)?.title ?? stepId;
}

function reduceProgress(state: SessionState, stepId: string, message: string): SessionState {
  const step = state.steps.find((existing) => existing.id === stepId);
  if (step === undefined || step.status !== 'running') return state;

  return upsertStep(state, { ...step, progress: message });
}

function reduceFinished(
  state: SessionState,
  summary: SessionSummary,
  exitCode: number,
): SessionState {
  const settled = settlePlan(state, 'declined');
  const closed = append(settled, { kind: 'summary', summary, exitCode });

  return { ...closed, summary, exitCode, prompt: undefined };
}

function reducePromptClosed(state: SessionState, isApproved: boolean | undefined): SessionState {
  const closed = { ...state, prompt: undefined };
  if (state.prompt?.kind !== 'approve') return closed;

  return settlePlan(closed, isApproved === true ? 'approved' : 'declined');
}
