import { render } from 'ink-testing-library';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { CANCELLED, type DoctorEvent } from '../../source/engine/events.js';
import { Box } from 'ink';
import { App, Screen } from '../../source/ui/ink/screen.js';
import { FinishedStepLine } from '../../source/ui/ink/tasks.js';
import { initialState, reduce, type SessionState } from '../../source/ui/model.js';
import { createSessionStore } from '../../source/ui/store.js';
import { afterApproval, beforeApproval, fullRun, plan } from './fixture.js';

const replay = (events: DoctorEvent[]): SessionState => events.reduce(reduce, initialState('fix'));
// Durations use non-breaking spaces (so they never wrap mid-value); compare with plain ones.
const text = (frame: string | undefined): string =>
  stripVTControlCharacters(frame ?? '').replaceAll('\u00a0', ' ');
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

afterEach(() => cleanup());

describe('Ink screen', () => {
  it('shows the header, findings with evidence, the marked plan and its tally', () => {
    const state = reduce(replay(beforeApproval), {
      type: 'prompt.opened', prompt: { kind: 'approve', plan },
    });
    const frame = text(render(<Screen state={state} now={0} onAnswer={() => {}} />).lastFrame());

    expect(frame).toContain('shir-doctor fix · sandbox · session s1');
    expect(frame).toContain('workspace synw-contoso');
    expect(frame).toContain('The workspace is DEP-locked');
    expect(frame).toContain('· preventDataExfiltration = true');
    expect(frame).toMatch(/\+ integration-runtime shir-doctor-ir/);
    expect(frame).toMatch(/~ linked-service RestService connectVia: AutoResolve/);
    expect(frame).toMatch(/- runtime-node/);
    expect(frame).toMatch(/= linked-service DataLake/);
    expect(frame).toContain('Plan: 2 to create, 1 to update, 1 to delete, 1 unchanged.');
    expect(frame).toContain('Apply this plan? [y/n]');
    expect(frame).toMatch(/\[y\/n\]\n2 to create, 1 to update, 1 to delete, 1 unchanged\./);
    expect(frame).toContain('Enter alone does nothing');
  });

  it('shows running steps with a ticking elapsed time and progress', () => {
    const state = replay([...beforeApproval, ...afterApproval.slice(0, 5)]);
    const startedAt = Date.parse(afterApproval[1]!.at);
    const early = text(
      render(<Screen state={state} now={startedAt + 2_000} onAnswer={() => {}} />).lastFrame(),
    );
    const later = text(
      render(<Screen state={state} now={startedAt + 75_000} onAnswer={() => {}} />).lastFrame(),
    );

    expect(early).toContain('Provision the VM (2.0 s) — provisioning');
    expect(later).toContain('Provision the VM (1 m 15 s) — provisioning');
    expect(early).toContain('Plan approved.');
    expect(early).toContain('retry 1 request(s) so far');
    expect(early).not.toContain('Apply this plan?');
  });

  it('shows the task list and the summary at the end', () => {
    const state = replay(fullRun);
    const frame = text(render(<Screen state={state} now={0} onAnswer={() => {}} />).lastFrame());

    expect(frame).toContain('✔ Create the runtime — created (1.2 s)');
    expect(frame).toContain('✔ Provision the VM — running (42 s)');
    expect(frame).toContain('○ Probe egress — skipped: not needed');
    expect(frame).toContain('Fixed (exit 0)');
    expect(frame).toContain('The API answered 200 through shir-doctor-ir in 0.4 s.');
    expect(frame).toContain('End-to-end API test passed through the self-hosted integration');
    expect(frame).toContain('+ shir-doctor-ir');
    expect(frame).toContain('~ RestService');
    expect(frame).toContain('Report: /tmp/state/sessions/s1/report.md');
    expect(frame).toContain('shir-doctor rollback --session s1');
  });

  it('shows a failed step with its fix and a failed summary with the error last', () => {
    const error = {
      code: 'q', what: 'Quota exceeded', why: 'cores 10/10', fix: 'ask for quota',
      exitCode: 5 as const,
    };
    const state = replay([
      ...beforeApproval,
      { type: 'step.started', stepId: 'vm', title: 'Provision the VM', at: '2026-01-01T10:00:03Z' },
      { type: 'step.failed', stepId: 'vm', error, elapsedMs: 900, at: '2026-01-01T10:00:04Z' },
      {
        type: 'session.finished',
        exitCode: 5,
        summary: {
          outcome: 'failed', headline: 'The VM could not be created.', error, retries: 0,
          changes: { created: [], updated: [], deleted: [] }, reportPaths: {}, nextCommands: [],
        },
        at: '2026-01-01T10:00:05Z',
      },
    ]);
    const frame = text(render(<Screen state={state} now={0} onAnswer={() => {}} />).lastFrame());

    expect(frame).toContain('✘ Provision the VM (0.9 s)');
    expect(frame).toContain('fix: ask for quota');
    expect(frame).toContain('Failed (exit 5)');
    const summaryAt = frame.indexOf('Failed (exit 5)');

    expect(frame.lastIndexOf('fix: ask for quota')).toBeGreaterThan(summaryAt);
  });

  it('shows a hidden secret prompt', () => {
    const state = reduce(initialState('fix'), {
      type: 'prompt.opened', prompt: { kind: 'secret', question: 'x-api-key of RestService?' },
    });
    const frame = text(render(<Screen state={state} now={0} onAnswer={() => {}} />).lastFrame());

    expect(frame).toContain('x-api-key of RestService?');
    expect(frame).toContain('secret (hidden)');
  });

  it('says it is starting before the session has begun', () => {
    const state = initialState('verify');
    const frame = text(render(<Screen state={state} now={0} onAnswer={() => {}} />).lastFrame());

    expect(frame).toContain('Starting shir-doctor verify');
  });
});

describe('Ink app input', () => {
  function mountWithPrompt() {
    const store = createSessionStore(replay(beforeApproval));
    store.dispatch({ type: 'prompt.opened', prompt: { kind: 'approve', plan } });
    const onAnswer = vi.fn();
    const onInterrupt = vi.fn();
    const app = render(<App store={store} onAnswer={onAnswer} onInterrupt={onInterrupt} />);

    return { app, store, onAnswer, onInterrupt };
  }

  it('does not approve on Enter, approves on y', async () => {
    const { app, onAnswer } = mountWithPrompt();
    await tick();
    app.stdin.write('\r');
    await tick();

    expect(onAnswer).not.toHaveBeenCalled();

    app.stdin.write('y');
    await tick();

    expect(onAnswer).toHaveBeenCalledWith(true);
  });

  it('takes a key pressed as the prompt opens, before React has run its effects', async () => {
    const store = createSessionStore(replay(beforeApproval));
    const onAnswer = vi.fn();
    const app = render(<App store={store} onAnswer={onAnswer} onInterrupt={vi.fn()} />);
    await tick();

    // A fast admin (or tmux send-keys) answers the moment the question appears.
    store.dispatch({ type: 'prompt.opened', prompt: { kind: 'approve', plan } });
    app.stdin.write('n');
    await tick();

    expect(onAnswer.mock.calls).toEqual([[false]]);
  });

  it('reads Enter then n arriving as one chunk as n; a pasted word answers nothing', async () => {
    const { app, onAnswer } = mountWithPrompt();
    await tick();
    app.stdin.write('yes please');
    await tick();
    app.stdin.write('\rn');
    await tick();

    expect(onAnswer.mock.calls).toEqual([[false]]);
  });

  it('declines on n, cancels on Esc', async () => {
    const { app, onAnswer } = mountWithPrompt();
    await tick();
    app.stdin.write('n');
    await tick();
    app.stdin.write('\u001B');
    await tick();

    expect(onAnswer.mock.calls).toEqual([[false], [CANCELLED]]);
  });

  it('turns Ctrl-C into an interrupt request', async () => {
    const { app, onInterrupt } = mountWithPrompt();
    await tick();
    app.stdin.write('\u0003');
    await tick();

    expect(onInterrupt).toHaveBeenCalledTimes(1);
  });

  it('redraws when the store changes', async () => {
    const { app, store } = mountWithPrompt();
    store.dispatch({ type: 'prompt.closed', isApproved: true });
    for (const event of afterApproval) store.dispatch(event);
    await tick();

    expect(text(app.lastFrame())).toContain('Fixed (exit 0)');
  });
});

describe('summary without repetition', () => {
  it('does not repeat an error that is already the headline', () => {
    const error = { code: 'i', what: 'Interrupted at the prompt.', fix: 'Run it again.' };
    const state = reduce(initialState('fix'), {
      type: 'session.finished',
      exitCode: 130,
      summary: {
        outcome: 'interrupted', headline: 'Interrupted at the prompt.', retries: 0,
        error: { ...error, exitCode: 130 }, changes: { created: [], updated: [], deleted: [] },
        reportPaths: {}, nextCommands: [],
      },
      at: '2026-01-01T10:00:05Z',
    });
    const frame = text(render(<Screen state={state} now={0} onAnswer={() => {}} />).lastFrame());

    expect(frame.split('Interrupted at the prompt.')).toHaveLength(2);
    expect(frame).toContain('fix: Run it again.');
  });
});

describe('verify screen', () => {
  it('prints each check with its mark and detail, and warnings', () => {
    const state = replay([
      { ...beforeApproval[0]!, command: 'verify' } as DoctorEvent,
      { type: 'check', name: 'Runtime health', isPassing: true, detail: 'Online', at: 'x' },
      {
        type: 'check', name: 'Egress probe', isPassing: false, detail: 'servicebus blocked',
        at: 'x',
      },
      { type: 'log', level: 'warn', message: 'The node is 3 versions behind.', at: 'x' },
      { type: 'log', level: 'debug', message: 'raw poll body', at: 'x' },
    ]);
    const frame = text(render(<Screen state={state} now={0} onAnswer={() => {}} />).lastFrame());

    expect(frame).toContain('shir-doctor verify');
    expect(frame).toMatch(/Checks\n✔ Runtime health — Online/);
    expect(frame).toContain('✘ Egress probe — servicebus blocked');
    expect(frame).toContain('The node is 3 versions behind.');
    expect(frame).not.toContain('raw poll body');
  });
});

describe('resumed session', () => {
  it('says so in the header', () => {
    const started = { ...beforeApproval[0]!, isResumed: true } as DoctorEvent;
    const state = replay([started]);
    const frame = text(render(<Screen state={state} now={0} onAnswer={() => {}} />).lastFrame());

    expect(frame).toContain('session s1 (resumed)');
  });

  it('but a rollback, which always opens the session it undoes, is not "resumed"', () => {
    const started = { ...beforeApproval[0]!, command: 'rollback', isResumed: true } as DoctorEvent;
    const frame = text(render(<Screen state={replay([started])} now={0} onAnswer={() => {}} />)
      .lastFrame());

    expect(frame).toContain('shir-doctor rollback');
    expect(frame).not.toContain('(resumed)');
  });

  it('never wraps a step time mid-value at 80 columns', () => {
    for (let length = 40; length <= 80; length += 1) {
      const step = { status: 'succeeded' as const, id: 'vm', title: 'Provision the VM',
        summary: 'word '.repeat(40).slice(0, length).trim(), elapsedMs: 700 };
      const frame = text(render(<Box width={80}><FinishedStepLine step={step} /></Box>)
        .lastFrame());

      expect(frame, `summary of ${length}`).toContain('(0.7 s)');
    }
  });
});
