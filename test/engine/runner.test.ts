import { describe, expect, it } from 'vitest';

import { DoctorError, ExitCode } from '../../source/engine/errors.js';
import type { EventInput } from '../../source/engine/events.js';
import { orderSteps, runSteps } from '../../source/engine/runner.js';
import type { Step, StepIO, StepOutcome } from '../../source/engine/step.js';
import { createMemoryJournal } from '../helpers/journal.js';

type Ctx = { log: string[] };

function step(
  id: string,
  dependsOn: string[] = [],
  run: (ctx: Ctx, io: StepIO) => Promise<StepOutcome> = async () => ok(id),
): Step<Ctx> {
  return { id, title: `Title ${id}`, dependsOn, run };
}

function ok(id: string): StepOutcome {
  return { status: 'succeeded', summary: `${id} done` };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function harness() {
  const events: EventInput[] = [];
  const journal = createMemoryJournal();
  const options = { emit: (e: EventInput) => void events.push(e), journal };
  const ctx: Ctx = { log: [] };
  const names = () => events.map((e) => ('stepId' in e ? `${e.type}:${e.stepId}` : e.type));
  return { events, journal, options, ctx, names };
}

describe('runSteps ordering and concurrency', () => {
  it('runs a dependant only after its dependency succeeded', async () => {
    const h = harness();
    const steps = [step('b', ['a']), step('a')];

    const result = await runSteps(steps, h.ctx, h.options);

    expect(h.names()).toEqual([
      'step.started:a',
      'step.succeeded:a',
      'step.started:b',
      'step.succeeded:b',
    ]);
    expect(result.isSuccess).toBe(true);
    expect(result.succeeded).toEqual(['b', 'a']);
  });

  it('starts independent steps together', async () => {
    const h = harness();
    const gate = deferred();
    const started: string[] = [];
    const waiting = (id: string) =>
      step(id, [], async () => {
        started.push(id);
        await gate.promise;
        return ok(id);
      });
    const last = step('c', ['a', 'b'], async () => {
      started.push('c');
      return ok('c');
    });

    const running = runSteps([waiting('a'), waiting('b'), last], h.ctx, h.options);
    await new Promise((r) => setImmediate(r));
    const beforeRelease = [...started];
    gate.resolve();
    const result = await running;

    expect(beforeRelease).toEqual(['a', 'b']);
    expect(started).toEqual(['a', 'b', 'c']);
    expect(result.succeeded).toEqual(['a', 'b', 'c']);
  });

  it('lets dependants run after a step that skipped itself', async () => {
    const h = harness();
    const skipper = step('a', [], async () => ({ status: 'skipped', reason: 'already there' }));

    const result = await runSteps([skipper, step('b', ['a'])], h.ctx, h.options);

    expect(result.succeeded).toEqual(['b']);
    expect(result.skipped).toEqual(['a']);
    expect(result.isSuccess).toBe(true);
    expect(h.events).toContainEqual({
      type: 'step.skipped',
      stepId: 'a',
      title: 'Title a',
      reason: 'already there',
    });
  });

  it('passes progress, the journal and the context to steps', async () => {
    const h = harness();
    const worker = step('a', [], async (ctx, io) => {
      ctx.log.push('ran');
      io.progress('halfway');
      await io.journal.remember('vm', 'vm-1');
      return ok('a');
    });

    await runSteps([worker], h.ctx, h.options);

    expect(h.ctx.log).toEqual(['ran']);
    expect(h.events).toContainEqual({ type: 'step.progress', stepId: 'a', message: 'halfway' });
    expect(h.journal.recall('vm')).toBe('vm-1');
  });

  it('reports elapsed times from the clock it is given', async () => {
    const h = harness();
    let clock = 1000;
    const slow = step('a', [], async () => {
      clock += 250;
      return ok('a');
    });

    const result = await runSteps([slow], h.ctx, { ...h.options, now: () => clock });

    expect(result.steps[0].elapsedMs).toBe(250);
    expect(h.events).toContainEqual({
      type: 'step.succeeded',
      stepId: 'a',
      summary: 'a done',
      elapsedMs: 250,
    });
  });
});

describe('runSteps failures', () => {
  const failing = (error: unknown) =>
    step('a', [], async () => {
      throw error;
    });

  it('never starts steps downstream of a failure and names the blocker', async () => {
    const h = harness();
    const boom = new DoctorError({ code: 'forbidden', what: 'No access.', fix: 'Grant a role.' });
    const steps = [failing(boom), step('b', ['a']), step('c', ['b']), step('d')];

    const result = await runSteps(steps, h.ctx, h.options);

    expect(result.isSuccess).toBe(false);
    expect(result.failed).toEqual(['a']);
    expect(result.succeeded).toEqual(['d']);
    expect(result.skipped).toEqual(['b', 'c']);
    expect(result.firstError?.code).toBe('forbidden');
    expect(h.names()).not.toContain('step.started:b');
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: 'step.skipped', stepId: 'b', reason: 'blocked by Title a' }),
    );
    expect(h.events).toContainEqual(
      expect.objectContaining({ type: 'step.skipped', stepId: 'c', reason: 'blocked by Title b' }),
    );
  });

  it('maps other errors through the mapper it is given', async () => {
    const h = harness();
    const mapError = (error: unknown, failed: Step<Ctx>) =>
      new DoctorError({
        code: 'mapped',
        what: `${failed.id}: ${(error as Error).message}`,
        fix: 'x',
        exitCode: ExitCode.blocked,
      });

    const result = await runSteps([failing(new Error('socket hang up'))], h.ctx, {
      ...h.options,
      mapError,
    });

    expect(result.steps[0].error).toMatchObject({
      code: 'mapped',
      what: 'a: socket hang up',
      exitCode: ExitCode.blocked,
    });
  });

  it('catches a step that throws before returning a promise', async () => {
    const h = harness();
    const sync: Step<Ctx> = {
      id: 'a',
      title: 'Title a',
      dependsOn: [],
      run: () => {
        throw new Error('sync boom');
      },
    };

    const result = await runSteps([sync, step('b')], h.ctx, h.options);

    expect(result.failed).toEqual(['a']);
    expect(result.succeeded).toEqual(['b']);
  });

  it('uses the generic error when the mapper itself throws', async () => {
    const h = harness();
    const mapError = () => {
      throw new Error('mapper bug');
    };

    const result = await runSteps([failing(new Error('original'))], h.ctx, {
      ...h.options,
      mapError,
    });

    expect(result.steps[0].error).toMatchObject({ code: 'step-crashed', why: 'original' });
  });

  it('falls back to a generic DoctorError without a mapper', async () => {
    const h = harness();

    const result = await runSteps([failing('a string')], h.ctx, h.options);

    expect(result.steps[0].status).toBe('failed');
    expect(result.steps[0].error).toMatchObject({ code: 'step-crashed', why: 'a string' });
  });
});

describe('runSteps abort', () => {
  it('starts nothing new after the signal aborts and reports the rest interrupted', async () => {
    const h = harness();
    const controller = new AbortController();
    const first = step('a', [], async (_ctx, io) => {
      controller.abort();
      expect(io.signal.aborted).toBe(true);
      return ok('a');
    });

    const result = await runSteps([first, step('b', ['a'])], h.ctx, {
      ...h.options,
      signal: controller.signal,
    });

    expect(result.isAborted).toBe(true);
    expect(result.isSuccess).toBe(false);
    expect(result.succeeded).toEqual(['a']);
    expect(result.steps[1]).toMatchObject({ status: 'interrupted' });
    expect(h.names()).not.toContain('step.started:b');
  });

  it('maps an AbortError thrown after the abort to an interruption', async () => {
    const h = harness();
    const controller = new AbortController();
    const aborting = step('a', [], async () => {
      controller.abort();
      const error = new Error('aborted');
      error.name = 'AbortError';
      throw error;
    });

    const result = await runSteps([aborting], h.ctx, { ...h.options, signal: controller.signal });

    expect(result.steps[0].error).toMatchObject({
      code: 'interrupted',
      exitCode: ExitCode.interrupted,
    });
  });

  it('starts nothing when the signal is already aborted', async () => {
    const h = harness();

    const result = await runSteps([step('a')], h.ctx, {
      ...h.options,
      signal: AbortSignal.abort(),
    });

    expect(result.steps[0].status).toBe('interrupted');
    expect(h.names()).toEqual(['step.skipped:a']);
  });
});

describe('orderSteps', () => {
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as DoctorError).info.code;
    }
    return 'no error';
  };

  it('rejects unknown dependencies, duplicates and cycles', () => {
    expect(codeOf(() => orderSteps([step('a', ['ghost'])]))).toBe('step-graph-invalid');
    expect(codeOf(() => orderSteps([step('a'), step('a')]))).toBe('step-graph-invalid');
    expect(codeOf(() => orderSteps([step('a', ['b']), step('b', ['a'])]))).toBe(
      'step-graph-invalid',
    );
  });

  it('names the cycle', () => {
    const steps = [step('a', ['c']), step('b', ['a']), step('c', ['b'])];

    expect(() => orderSteps(steps)).toThrow(DoctorError);
    try {
      orderSteps(steps);
    } catch (error) {
      expect((error as DoctorError).info.why).toContain('a -> c -> b -> a');
    }
  });

  it('rejects a bad graph before running any step', async () => {
    const h = harness();
    let ran = false;
    const steps = [step('a', [], async () => ((ran = true), ok('a'))), step('b', ['b'])];

    await expect(runSteps(steps, h.ctx, h.options)).rejects.toBeInstanceOf(DoctorError);
    expect(ran).toBe(false);
  });
});
