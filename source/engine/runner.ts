/**
 * The step runner: executes a dependency graph of steps with as much concurrency as the graph
 * allows.
 *
 * Policy:
 * - The graph is checked first: duplicate ids, unknown dependencies and cycles are a
 *   DoctorError before anything runs.
 * - Every step whose dependencies all ended `succeeded` or `skipped` starts at once; steps
 *   run concurrently and are started in the order they were declared.
 * - A step whose dependency failed (or was itself blocked) never starts: it is reported
 *   `step.skipped` with the reason "blocked by <title>".
 * - Anything a step throws that is not a DoctorError goes through `mapError`.
 * - Once `signal` aborts, no new step starts; running steps get the same signal and are
 *   awaited; steps never started are reported skipped as interrupted.
 * The runner itself never throws for a failing step: the result says what happened.
 */
import { DoctorError, ExitCode, isDoctorError, type ErrorInfo } from './errors.js';
import type { EventInput } from './events.js';
import type { Journal, Step, StepIO, StepOutcome } from './step.js';

/** Where a step ended. `blocked`: a dependency failed; `interrupted`: aborted before start. */
export type StepStatus = 'succeeded' | 'skipped' | 'failed' | 'blocked' | 'interrupted';

/** How one step ended. */
export interface StepReport {
  id: string;
  title: string;
  status: StepStatus;
  /** The success summary, or the skip, block or interruption reason. */
  detail?: string;
  error?: ErrorInfo;
  /** Wall time of the run; absent for steps that never started. */
  elapsedMs?: number;
}

/** What `runSteps` resolves to. */
export interface RunResult {
  /** True when every step succeeded or was skipped on its own terms. */
  isSuccess: boolean;
  /** True when the signal aborted before the graph finished. */
  isAborted: boolean;
  succeeded: string[];
  /** Steps that returned `skipped`, were blocked, or never started because of the abort. */
  skipped: string[];
  failed: string[];
  /** One report per step, in declaration order. */
  steps: StepReport[];
  /** The first failure, for the session summary. */
  firstError?: ErrorInfo;
}

/** Turns anything a step threw into a DoctorError. */
export type ErrorMapper<C> = (error: unknown, step: Step<C>) => DoctorError;

/** What `runSteps` needs besides the steps and their context. */
export interface RunOptions<C> {
  emit(event: EventInput): void;
  journal: Journal;
  signal?: AbortSignal;
  mapError?: ErrorMapper<C>;
  /** Milliseconds clock for elapsed times; tests pass a fake one. */
  now?: () => number;
}

/**
 * Checks the graph and returns the steps in a valid execution order (dependencies first,
 * otherwise declaration order). Throws a DoctorError for duplicates, unknown ids and cycles.
 */
export function orderSteps<C>(steps: readonly Step<C>[]): Step<C>[] {
  const byId = indexSteps(steps);
  const ordered: Step<C>[] = [];
  const state = new Map<string, 'visiting' | 'done'>();

  const visit = (step: Step<C>, path: string[]): void => {
    if (state.get(step.id) === 'done') return;
    if (state.get(step.id) === 'visiting') throw cycleError([...path, step.id]);

    state.set(step.id, 'visiting');
    for (const dependency of step.dependsOn) visit(byId.get(dependency)!, [...path, step.id]);
    state.set(step.id, 'done');
    ordered.push(step);
  };

  for (const step of steps) visit(step, []);
  return ordered;
}

function indexSteps<C>(steps: readonly Step<C>[]): Map<string, Step<C>> {
  const byId = new Map<string, Step<C>>();
  for (const step of steps) {
    if (byId.has(step.id)) throw graphError(`Two steps share the id "${step.id}".`);
    byId.set(step.id, step);
  }
  for (const step of steps) {
    const unknown = step.dependsOn.find((dependency) => !byId.has(dependency));
    if (unknown !== undefined) {
      throw graphError(`Step "${step.id}" depends on "${unknown}", which does not exist.`);
    }
  }
  return byId;
}

function cycleError(path: string[]): DoctorError {
  const start = path.indexOf(path[path.length - 1]);
  const cycle = path.slice(start).join(' -> ');
  return graphError(`The steps depend on each other in a cycle: ${cycle}.`);
}

function graphError(why: string): DoctorError {
  return new DoctorError({
    code: 'step-graph-invalid',
    what: 'The remediation steps cannot be ordered.',
    why,
    fix: 'This is a bug in shir-doctor; please report it with the session log.',
    exitCode: ExitCode.internal,
  });
}

/** The mapper used when the caller gives none. */
export function defaultErrorMapper<C>(error: unknown, step: Step<C>): DoctorError {
  const message = error instanceof Error ? error.message : String(error);
  return new DoctorError({
    code: 'step-crashed',
    what: `${step.title} failed unexpectedly.`,
    why: message,
    fix: 'Rerun shir-doctor; if it fails again, report it with the session log.',
    exitCode: ExitCode.internal,
  });
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

function interruptedError<C>(step: Step<C>): DoctorError {
  return new DoctorError({
    code: 'interrupted',
    what: `${step.title} was interrupted.`,
    fix: 'Run the same command again to resume where it stopped.',
    exitCode: ExitCode.interrupted,
  });
}

/** Runs the graph; see the module doc for the policy. */
export async function runSteps<C>(
  steps: readonly Step<C>[],
  context: C,
  options: RunOptions<C>,
): Promise<RunResult> {
  const ordered = orderSteps(steps);
  const run = new GraphRun(ordered, [...steps], context, options);
  return run.execute();
}

class GraphRun<C> {
  private readonly reports = new Map<string, StepReport>();
  private readonly failures: ErrorInfo[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly now: () => number;
  private readonly mapError: ErrorMapper<C>;

  constructor(
    private readonly steps: Step<C>[],
    private readonly declared: Step<C>[],
    private readonly context: C,
    private readonly options: RunOptions<C>,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.mapError = options.mapError ?? defaultErrorMapper;
  }

  async execute(): Promise<RunResult> {
    this.schedule();
    while (this.running.size > 0) {
      await Promise.race(this.running);
      this.schedule();
    }
    this.markInterrupted();
    return this.result();
  }

  /** Blocks what can no longer run, then starts everything that is ready. */
  private schedule(): void {
    for (const step of this.steps) {
      if (this.reports.has(step.id)) continue;

      const blocker = this.findBlocker(step);
      if (blocker) {
        this.block(step, blocker);
        continue;
      }
      if (this.isAborted()) continue;
      if (step.dependsOn.every((id) => this.isDone(id))) this.start(step);
    }
  }

  private findBlocker(step: Step<C>): Step<C> | undefined {
    const id = step.dependsOn.find((dependency) => {
      const status = this.reports.get(dependency)?.status;
      return status === 'failed' || status === 'blocked';
    });
    return this.steps.find((candidate) => candidate.id === id);
  }

  private isDone(id: string): boolean {
    const status = this.reports.get(id)?.status;
    return status === 'succeeded' || status === 'skipped';
  }

  private isAborted(): boolean {
    return this.options.signal?.aborted === true;
  }

  private block(step: Step<C>, blocker: Step<C>): void {
    const reason = `blocked by ${blocker.title}`;
    this.reports.set(step.id, { ...this.base(step), status: 'blocked', detail: reason });
    this.options.emit({ type: 'step.skipped', stepId: step.id, title: step.title, reason });
  }

  private start(step: Step<C>): void {
    // Claimed synchronously so a later pass of schedule() does not start it twice.
    this.reports.set(step.id, { id: step.id, title: step.title, status: 'interrupted' });
    const task = this.runOne(step).finally(() => this.running.delete(task));
    this.running.add(task);
  }

  private async runOne(step: Step<C>): Promise<void> {
    const { emit } = this.options;
    const startedAt = this.now();
    emit({ type: 'step.started', stepId: step.id, title: step.title });

    try {
      const outcome = await step.run(this.context, this.io(step));
      const elapsedMs = Math.round(this.now() - startedAt);
      this.settle(step, outcome, elapsedMs);
    } catch (thrown) {
      const elapsedMs = Math.round(this.now() - startedAt);
      const info = { ...this.toDoctorError(thrown, step).info };
      this.failures.push(info);
      this.reports.set(step.id, { ...this.base(step), status: 'failed', error: info, elapsedMs });
      emit({ type: 'step.failed', stepId: step.id, error: info, elapsedMs });
    }
  }

  private settle(step: Step<C>, outcome: StepOutcome, elapsedMs: number): void {
    const { emit } = this.options;
    if (outcome.status === 'skipped') {
      this.reports.set(step.id, {
        ...this.base(step),
        status: 'skipped',
        detail: outcome.reason,
        elapsedMs,
      });
      emit({ type: 'step.skipped', stepId: step.id, title: step.title, reason: outcome.reason });
      return;
    }

    const report = { ...this.base(step), detail: outcome.summary, elapsedMs };
    this.reports.set(step.id, { ...report, status: 'succeeded' });
    emit({ type: 'step.succeeded', stepId: step.id, summary: outcome.summary, elapsedMs });
  }

  private toDoctorError(thrown: unknown, step: Step<C>): DoctorError {
    if (isDoctorError(thrown)) return thrown;
    if (this.isAborted() && isAbortError(thrown)) return interruptedError(step);

    try {
      return this.mapError(thrown, step);
    } catch {
      return defaultErrorMapper(thrown, step);
    }
  }

  private base(step: Step<C>): Pick<StepReport, 'id' | 'title'> {
    return { id: step.id, title: step.title };
  }

  private io(step: Step<C>): StepIO {
    const { emit, journal } = this.options;
    const signal = this.options.signal ?? new AbortController().signal;
    return {
      progress: (message) => emit({ type: 'step.progress', stepId: step.id, message }),
      signal,
      journal,
    };
  }

  /** Steps never started because of the abort. */
  private markInterrupted(): void {
    for (const step of this.steps) {
      if (this.reports.has(step.id)) continue;

      const reason = 'interrupted before it started';
      this.reports.set(step.id, { ...this.base(step), status: 'interrupted', detail: reason });
      this.options.emit({ type: 'step.skipped', stepId: step.id, title: step.title, reason });
    }
  }

  private result(): RunResult {
    const steps = this.declared.map((step) => this.reports.get(step.id)!);
    const pick = (...statuses: StepStatus[]) =>
      steps.filter((report) => statuses.includes(report.status)).map((report) => report.id);
    const failed = pick('failed');
    const isAborted = this.isAborted();
    return {
      isSuccess: failed.length === 0 && pick('blocked', 'interrupted').length === 0,
      isAborted,
      succeeded: pick('succeeded'),
      skipped: pick('skipped', 'blocked', 'interrupted'),
      failed,
      steps,
      firstError: this.failures[0],
    };
  }
}
