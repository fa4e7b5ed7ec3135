import { describe, expect, it } from 'vitest';
import {
  initialState,
  reduce,
  runningStepTitles,
  type SessionState,
} from '../../source/ui/model.js';
import type { DoctorEvent } from '../../source/engine/events.js';
import { afterApproval, beforeApproval, fullRun, plan } from './fixture.js';

const replay = (events: DoctorEvent[], state: SessionState = initialState('fix')): SessionState =>
  events.reduce(reduce, state);

describe('session reducer', () => {
  it('shows a plan with changes at once and waits for a decision', () => {
    const state = replay(beforeApproval);

    expect(state.isAwaitingDecision).toBe(true);
    expect(state.transcript.map((block) => block.kind)).toEqual(['header', 'finding', 'plan']);
    expect(state.transcript[2]).toEqual({ kind: 'plan', plan });
  });

  it('records the approval once, after the plan', () => {
    const state = replay(fullRun);
    const kinds = state.transcript.map((block) => block.kind);

    expect(state.isAwaitingDecision).toBe(false);
    expect(kinds.slice(0, 5)).toEqual(['header', 'finding', 'plan', 'decision', 'steps-heading']);
    expect(kinds.filter((kind) => kind === 'decision')).toHaveLength(1);
    expect(state.transcript[3]).toEqual({ kind: 'decision', decision: 'approved' });
  });

  it('settles a plan without changes at once', () => {
    const keepOnly = { items: [{ ...plan.items[4]! }] };
    const state = reduce(initialState('fix'), { type: 'plan.ready', plan: keepOnly, at: 'x' });

    expect(state.isAwaitingDecision).toBe(false);
    expect(state.transcript).toEqual([
      { kind: 'plan', plan: keepOnly },
      { kind: 'decision', decision: 'no-changes' },
    ]);
  });

  it('tracks each step through its states with the title from step.started', () => {
    const state = replay(fullRun);
    const byId = Object.fromEntries(state.steps.map((step) => [step.id, step]));

    expect(byId.runtime).toEqual({
      status: 'succeeded', id: 'runtime', title: 'Create the runtime', summary: 'created',
      elapsedMs: 1200,
    });
    expect(byId.probe).toMatchObject({ status: 'skipped', reason: 'not needed' });
    expect(state.steps.map((step) => step.id)).toEqual(['runtime', 'vm', 'probe']);
  });

  it('reports running steps and their latest progress', () => {
    const state = replay([...beforeApproval, ...afterApproval.slice(0, 4)]);

    expect(runningStepTitles(state)).toEqual(['Create the runtime', 'Provision the VM']);
    expect(state.steps[1]).toMatchObject({ status: 'running', progress: 'provisioning' });
  });

  it('records a failed step with its error and keeps its title', () => {
    const error = {
      code: 'x', what: 'VM quota exceeded', fix: 'ask for quota', exitCode: 5 as const,
    };
    const state = replay([
      { type: 'step.started', stepId: 'vm', title: 'Provision the VM', at: '2026-01-01T00:00:00Z' },
      { type: 'step.failed', stepId: 'vm', error, elapsedMs: 5, at: '2026-01-01T00:00:01Z' },
    ]);

    expect(state.steps[0]).toEqual({
      status: 'failed', id: 'vm', title: 'Provision the VM', error, elapsedMs: 5,
    });
  });

  it('counts retries, prints checks and non-debug log lines once', () => {
    const check = { name: 'runtime online', isPassing: false, detail: 'Limited' };
    const state = replay([
      { type: 'log', level: 'debug', message: 'hidden', at: 'x' },
      { type: 'log', level: 'warn', message: 'slow API', at: 'x' },
      { type: 'check', ...check, at: 'x' },
      ...afterApproval.slice(4, 5),
    ]);

    expect(state.retries).toBe(1);
    expect(state.checks).toEqual([check]);
    expect(state.transcript).toEqual([
      { kind: 'log', line: { level: 'warn', message: 'slow API' } },
      { kind: 'checks-heading' },
      { kind: 'check', check },
    ]);
  });

  it('prints each finished step once, under one heading, in the order they finish', () => {
    const state = replay(fullRun);
    const printed = state.transcript.flatMap((block) =>
      block.kind === 'step' ? [block.step.id] : block.kind === 'steps-heading' ? ['#'] : []);

    expect(printed).toEqual(['#', 'runtime', 'probe', 'vm']);
    expect(state.transcript.at(-1)).toMatchObject({ kind: 'summary', exitCode: 0 });
  });

  it('declines the plan when the approval prompt closes with no', () => {
    const opened = reduce(replay(beforeApproval), {
      type: 'prompt.opened', prompt: { kind: 'approve', plan },
    });
    const closed = reduce(opened, { type: 'prompt.closed', isApproved: false });

    expect(opened.prompt?.kind).toBe('approve');
    expect(closed.prompt).toBeUndefined();
    expect(closed.transcript.at(-1)).toEqual({ kind: 'decision', decision: 'declined' });
  });

  it('keeps the summary and exit code of session.finished', () => {
    const state = replay(fullRun);

    expect(state.summary?.outcome).toBe('fixed');
    expect(state.exitCode).toBe(0);
  });
});
