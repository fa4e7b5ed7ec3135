import { describe, expect, it } from 'vitest';
import { CANCELLED, type DoctorEvent } from '../../source/engine/events.js';
import { createPresenter } from '../../source/ui/factory.js';
import { createJsonPresenter } from '../../source/ui/json.js';
import { createPlainPresenter, describeSummary } from '../../source/ui/plain.js';
import { makeAuthKey } from '../helpers/secrets.js';
import { fullRun, plan } from './fixture.js';

function collector(): { text: () => string; write(chunk: string): void } {
  const chunks: string[] = [];

  return { text: () => chunks.join(''), write: (chunk: string) => chunks.push(chunk) };
}

describe('plain presenter', () => {
  it('prints findings with evidence, the marked plan with its tally and the summary', () => {
    const sink = collector();
    const ui = createPlainPresenter({ command: 'fix', sink, isAutoApproved: true });
    for (const event of fullRun) ui.emit(event);
    const text = sink.text();

    expect(text).toContain('[problem] The workspace is DEP-locked');
    expect(text).toContain('    - preventDataExfiltration = true');
    expect(text).toContain('  + integration-runtime shir-doctor-ir');
    expect(text).toContain('  ~ linked-service RestService connectVia: AutoResolve');
    expect(text).toContain('  - runtime-node');
    expect(text).toContain('  = linked-service DataLake');
    expect(text).toContain('Plan: 2 to create, 1 to update, 1 to delete, 1 unchanged.');
    expect(text).toContain('ok Provision the VM (42 s): running');
    expect(text).toContain('-- Probe egress skipped: not needed');
    expect(text).toContain('retry 1 of PUT linked service after HTTP 429');
    expect(text).toContain('Outcome: Fixed (exit 0)');
    expect(text).toContain('End-to-end API test passed through the self-hosted');
    expect(text).toContain('Report: /tmp/state/sessions/s1/report.md');
    expect(text).toContain('Next: shir-doctor verify');
  });

  it('labels a rollback with nothing to undo as such, not as healthy', () => {
    const lines = describeSummary({ outcome: 'nothing-to-roll-back',
      headline: 'No fix session in this state folder changed this workspace.',
      changes: { created: [], updated: [], deleted: [] }, reportPaths: {}, nextCommands: [],
      retries: 0 }, 0);

    expect(lines).toContain('Outcome: Nothing to roll back (exit 0)');
    expect(lines.join('\n')).not.toContain('Healthy');
  });

  it('approves and confirms with --yes', async () => {
    const ui = createPlainPresenter({ command: 'fix', sink: collector(), isAutoApproved: true });

    expect(await ui.approve(plan)).toBe(true);
    expect(await ui.confirm('Delete the stale node?')).toBe(true);
  });

  it('declines without --yes and names the flag', async () => {
    const sink = collector();
    const ui = createPlainPresenter({ command: 'fix', sink, isAutoApproved: false });

    expect(await ui.approve(plan)).toBe(false);
    expect(await ui.confirm('Delete created resources?')).toBe(false);
    expect(sink.text()).toContain('--yes');
  });

  it('never asks for a secret', async () => {
    const ui = createPlainPresenter({ command: 'fix', sink: collector(), isAutoApproved: true });

    expect(await ui.askSecret('API key of RestService?')).toBe(CANCELLED);
  });

  it('names the running steps for the interrupt message', () => {
    const ui = createPlainPresenter({ command: 'fix', sink: collector(), isAutoApproved: true });
    for (const event of fullRun.slice(0, 6)) ui.emit(event);

    expect(ui.runningSteps()).toEqual(['Create the runtime', 'Provision the VM']);
  });
});

describe('JSON presenter', () => {
  it('writes exactly one parseable event per stdout line and human text elsewhere', () => {
    const out = collector();
    const err = collector();
    const ui = createJsonPresenter({ command: 'fix', out, sink: err, isAutoApproved: true });
    for (const event of fullRun) ui.emit(event);
    ui.emit({ type: 'log', level: 'info', message: 'no timestamp given' });

    const lines = out.text().trimEnd().split('\n');
    const events = lines.map((line) => JSON.parse(line) as DoctorEvent);

    expect(events.map((event) => event.type)).toEqual([...fullRun.map((e) => e.type), 'log']);
    expect(events.at(-1)?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(err.text()).toContain('Outcome: Fixed');
  });
});

describe('presenter factory', () => {
  it('picks JSON first, then plain when not interactive', async () => {
    const out = collector();
    const err = collector();
    const base = { command: 'fix' as const, stdout: out, stderr: err, isAutoApproved: false };
    const json = await createPresenter({ ...base, isJson: true, isInteractive: true });
    const plain = await createPresenter({ ...base, isJson: false, isInteractive: false });
    json.emit(fullRun[0]!);
    plain.emit(fullRun[0]!);

    expect(out.text().split('\n').filter(Boolean)).toHaveLength(1);
    expect(err.text().match(/shir-doctor fix · sandbox/g)).toHaveLength(2);
  });
});

describe('redaction at the presenter', () => {
  it('removes an auth key that reached a presenter from stdout and stderr', () => {
    const key = makeAuthKey();
    const out = collector();
    const err = collector();
    const ui = createJsonPresenter({ command: 'fix', out, sink: err, isAutoApproved: true });
    ui.emit({ type: 'log', level: 'warn', message: `script said ${key}` });

    expect(out.text()).toContain('script said');
    expect(out.text()).not.toContain(key);
    expect(err.text()).not.toContain(key);
  });
});

describe('errors outside the session', () => {
  it('JSON: closes stdout with a failed session.finished and explains on stderr', () => {
    const out = collector();
    const err = collector();
    const ui = createJsonPresenter({ command: 'fix', out, sink: err, isAutoApproved: true });
    const error = { code: 'x', what: 'The sandbox could not start.', fix: 'Check --scenario.' };
    ui.showError({ ...error, exitCode: 1 });
    const event = JSON.parse(out.text()) as DoctorEvent;

    expect(event).toMatchObject({
      type: 'session.finished', exitCode: 1, summary: { outcome: 'failed', error: { code: 'x' } },
    });
    expect(err.text()).toContain('error: The sandbox could not start.');
    expect(err.text()).toContain('fix: Check --scenario.');
  });
});
