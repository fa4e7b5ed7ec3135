/**
 * The session as a presenter sees it: a pure reducer over DoctorEvents and prompt actions.
 *
 * Every screen is a function of this state (and of the clock, for elapsed times that tick).
 * The transcript is append-only: blocks that will not change again (the header, each finding,
 * the plan, how the plan was decided) go there in arrival order, so Ink can print them once
 * above the live area, which stays short enough for any terminal.
 */
import type { ErrorInfo } from '../engine/errors.js';
import type {
  CommandName,
  DoctorEvent,
  SessionSummary,
} from '../engine/events.js';
import { planHasChanges, type Finding, type Plan, type Target } from '../engine/types.js';

/** One step of the live task list; each status carries only the fields valid in it. */
export type StepView =
  | { status: 'running'; id: string; title: string; startedAt: number; progress?: string }
  | { status: 'succeeded'; id: string; title: string; summary: string; elapsedMs: number }
  | { status: 'skipped'; id: string; title: string; reason: string }
  | { status: 'failed'; id: string; title: string; error: ErrorInfo; elapsedMs: number };

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

/** Something printed once and never redrawn. */
export type TranscriptBlock =
  | { kind: 'header'; header: SessionHeader }
  | { kind: 'finding'; finding: Finding }
  | { kind: 'plan'; plan: Plan }
  | { kind: 'decision'; decision: PlanDecision };

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
  /** Steps in the order they first appeared. */
  steps: StepView[];
  checks: CheckView[];
  /** The latest info and warn lines, newest last; debug lines are not kept. */
  logs: LogLine[];
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

/** Closes the open prompt; `answer` matters only for plan approval. */
export interface PromptClosed {
  type: 'prompt.closed';
  isApproved?: boolean;
}

/** What changes the state: the core's events and the presenter's prompt bookkeeping. */
export type SessionAction = DoctorEvent | PromptOpened | PromptClosed;

/** How many log lines the live area keeps. */
export const MAX_LOG_LINES = 4;

export function initialState(command: CommandName): SessionState {
  return {
    command,
    transcript: [],
    isAwaitingDecision: false,
    steps: [],
    checks: [],
    logs: [],
    retries: 0,
  };
}

/** Names of the steps that are still running, for the Ctrl-C message. */
export function runningStepTitles(state: SessionState): string[] {
  return state.steps.filter((step) => step.status === 'running').map((step) => step.title);
}

export function reduce(state: SessionState, action: SessionAction): SessionState {
  switch (action.type) {
    case 'session.started': {
      const { sessionId, command, target, mode, isResumed } = action;
      const header = { sessionId, command, target, mode, isResumed };

      return { ...state, header, transcript: [...state.transcript, { kind: 'header', header }] };
    }
    case 'finding':
      return append(state, { kind: 'finding', finding: action.finding });
    case 'plan.ready': {
      const shown = append(state, { kind: 'plan', plan: action.plan });
      if (!planHasChanges(action.plan)) {
        return append(shown, { kind: 'decision', decision: 'no-changes' });
      }

      return { ...shown, isAwaitingDecision: true };
    }
    case 'plan.approved':
      return settlePlan(state, 'approved');
    case 'step.started':
      return upsertStep(settlePlan(state, 'approved'), {
        status: 'running',
        id: action.stepId,
        title: action.title,
        startedAt: Date.parse(action.at),
      });
    case 'step.progress':
      return reduceProgress(state, action.stepId, action.message);
    case 'step.succeeded': {
      const { stepId, summary, elapsedMs } = action;
      const title = titleOf(state, stepId);

      return upsertStep(state, { status: 'succeeded', id: stepId, title, summary, elapsedMs });
    }
    case 'step.skipped': {
      const { stepId, title, reason } = action;

      return upsertStep(state, { status: 'skipped', id: stepId, title, reason });
    }
    case 'step.failed': {
      const { stepId, error, elapsedMs } = action;
      const title = titleOf(state, stepId);

      return upsertStep(state, { status: 'failed', id: stepId, title, error, elapsedMs });
    }
    case 'retry':
      return { ...state, retries: state.retries + 1 };
    case 'check': {
      const check = { name: action.name, isPassing: action.isPassing, detail: action.detail };

      return { ...state, checks: [...state.checks, check] };
    }
    case 'log':
      return reduceLog(state, action.level, action.message);
    case 'session.finished': {
      const settled = settlePlan(state, 'declined');

      return { ...settled, summary: action.summary, exitCode: action.exitCode, prompt: undefined };
    }
    case 'prompt.opened':
      return { ...state, prompt: action.prompt };
    case 'prompt.closed':
      return reducePromptClosed(state, action.isApproved);
  }
}

function append(state: SessionState, block: TranscriptBlock): SessionState {
  return { ...state, transcript: [...state.transcript, block] };
}

/** Records how a shown plan was decided, once. */
function settlePlan(state: SessionState, decision: PlanDecision): SessionState {
  if (!state.isAwaitingDecision) return state;

  return { ...append(state, { kind: 'decision', decision }), isAwaitingDecision: false };
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

function reduceLog(
  state: SessionState,
  level: 'debug' | 'info' | 'warn',
  message: string,
): SessionState {
  if (level === 'debug') return state;

  const logs = [...state.logs, { level, message }].slice(-MAX_LOG_LINES);

  return { ...state, logs };
}

function reducePromptClosed(state: SessionState, isApproved: boolean | undefined): SessionState {
  const closed = { ...state, prompt: undefined };
  if (state.prompt?.kind !== 'approve') return closed;

  return settlePlan(closed, isApproved === true ? 'approved' : 'declined');
}
