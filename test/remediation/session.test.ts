/**
 * The whole session against the emulator (timeScale 0): fix, rerun, verify, rollback, decline.
 * The emulator's stored (unmasked) bodies are the ground truth for F16.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  CANCELLED,
  type DoctorEvent,
  type EventInput,
  type SessionUI,
} from '../../source/engine/events.js';
import { canonicalJson } from '../../source/remediation/definitions.js';
import {
  answerOf,
  runFix,
  runPlanOnly,
  runRollback,
  runVerify,
} from '../../source/remediation/session.js';
import { AUTH_KEY_PATTERN } from '../../source/wire/guest.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { sessionOptions } from '../helpers/session.js';

/** A presenter whose methods live on its prototype, as class-based presenters do. */
class RecordingUI implements SessionUI {
  readonly events: EventInput[] = [];

  constructor(private readonly approval: boolean | typeof CANCELLED) {}

  emit(event: EventInput): void {
    this.events.push(event);
  }

  async approve(): Promise<boolean | typeof CANCELLED> {
    return this.approval;
  }

  async confirm(): Promise<boolean> {
    return true;
  }

  async askSecret(): Promise<typeof CANCELLED> {
    return CANCELLED;
  }
}

function recordingUI(approval: boolean | typeof CANCELLED = true): RecordingUI {
  return new RecordingUI(approval);
}

function devPath(box: TestSandbox, kind: 'linkedservices' | 'pipelines', name: string): string {
  return `/dev/${box.target.workspaceName}/${kind}/${name}`;
}

function stored(box: TestSandbox, kind: 'linkedservices' | 'pipelines', name: string) {
  const body = box.sandbox.peek(devPath(box, kind, name)) as { properties: Record<string, any> };
  return structuredClone(body.properties);
}

function checks(ui: RecordingUI): Array<Extract<DoctorEvent, { type: 'check' }>> {
  return ui.events.filter((event) => event.type === 'check') as never;
}

function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('sessions against the emulator (F01)', () => {
  let box: TestSandbox;

  beforeEach(async () => {
    box = await startTestSandbox({ scenario: 'F01' });
  });

  afterEach(async () => {
    await box?.cleanup();
  });

  it('fixes, proves, finds nothing to do on a rerun, verifies, rolls back exactly', async () => {
    const rest = stored(box, 'linkedservices', 'RestService');
    const files = stored(box, 'linkedservices', 'PartnerFiles');
    const pipeline = stored(box, 'pipelines', 'CallPartnerApi');

    const ui = recordingUI();
    const fixed = await runFix(sessionOptions(box), ui);

    expect(fixed.summary.error).toBeUndefined();
    expect(fixed.exitCode).toBe(0);
    expect(fixed.summary.outcome).toBe('fixed');
    expect(fixed.summary.isApiReachable).toBe(true);
    // The presenters print "End-to-end API test passed ..." above the headline: no echo.
    expect(fixed.summary.headline).not.toContain('End-to-end API test passed');
    expect(fixed.summary.headline)
      .toMatch(/^Through the self-hosted runtime shir-doctor-ir, GET /);
    expect(fixed.summary.headline).not.toContain(' 0 ms');
    // The task list adds each step's time; "(after 3.5 s) (3.5 s)" said it twice.
    const online = ui.events.find((event) => event.type === 'step.succeeded' &&
      event.stepId === 'online');
    expect(online?.type === 'step.succeeded' && online.summary).toMatch(/^Node \S+ is Online/);
    expect(online?.type === 'step.succeeded' && online.summary).not.toMatch(/\d s\)/);
    const afterFix = stored(box, 'linkedservices', 'RestService');
    expect(afterFix.connectVia.referenceName).toBe('shir-doctor-ir');
    expect(afterFix.typeProperties).toEqual(rest.typeProperties);
    expect(JSON.stringify(afterFix.parameters)).toBe(JSON.stringify(rest.parameters));
    expect(JSON.stringify(afterFix.annotations)).toBe(JSON.stringify(rest.annotations));
    expect(canonicalJson({ ...afterFix, connectVia: 0 }))
      .toBe(canonicalJson({ ...rest, connectVia: 0 }));
    expect(stored(box, 'linkedservices', 'PartnerFiles').typeProperties.password)
      .toEqual(files.typeProperties.password);
    expect(stored(box, 'pipelines', 'CallPartnerApi').activities[0].typeProperties.connectVia
      .referenceName).toBe('shir-doctor-ir');
    expect(fixed.summary.changes.updated).toContain('linked-service RestService');
    expect(fixed.summary.reportPaths.markdown).toBeDefined();

    const rerunUI = recordingUI();
    const rerun = await runFix(sessionOptions(box), rerunUI);
    expect(rerun.exitCode).toBe(0);
    expect(rerun.summary.outcome).toBe('healthy');
    expect(rerunUI.events.some((event) => event.type === 'step.started')).toBe(false);

    const verifyUI = recordingUI();
    const verified = await runVerify(sessionOptions(box), verifyUI);
    expect(checks(verifyUI).filter((check) => !check.isPassing)).toEqual([]);
    expect(verified.exitCode).toBe(0);
    expect(checks(verifyUI).length).toBeGreaterThanOrEqual(6);

    const rolledBack = await runRollback(sessionOptions(box), recordingUI());
    expect(rolledBack.summary.error).toBeUndefined();
    expect(rolledBack.exitCode).toBe(0);
    expect(rolledBack.summary.outcome).toBe('rolled-back');
    expect(rolledBack.summary.reportPaths.markdown).not.toBe(fixed.summary.reportPaths.markdown);
    expect(readFileSync(fixed.summary.reportPaths.markdown!, 'utf8')).not.toContain('rolled-back');
    const restored = (kind: 'linkedservices' | 'pipelines', name: string) =>
      JSON.stringify(stored(box, kind, name));
    expect(restored('linkedservices', 'RestService')).toBe(JSON.stringify(rest));
    expect(restored('linkedservices', 'PartnerFiles')).toBe(JSON.stringify(files));
    expect(restored('pipelines', 'CallPartnerApi')).toBe(JSON.stringify(pipeline));

    const artefacts = filesUnder(sessionOptions(box).stateDir)
      .map((path) => readFileSync(path, 'utf8'));
    for (const text of artefacts) {
      expect(text.match(AUTH_KEY_PATTERN)).toBeNull();
      for (const secret of Object.values(box.sandbox.adminSecrets)) {
        expect(text).not.toContain(secret);
      }
    }
  }, 60_000);

  it('changes nothing when the plan is declined', async () => {
    const before = stored(box, 'linkedservices', 'RestService');

    const options = sessionOptions(box, { isAutoApproved: false });
    const declined = await runFix(options, recordingUI(false));

    expect(declined.exitCode).toBe(6);
    expect(declined.summary.outcome).toBe('declined');
    expect(stored(box, 'linkedservices', 'RestService')).toEqual(before);
  });

  it('plans without changing anything', async () => {
    const ui = recordingUI();

    const planned = await runPlanOnly(sessionOptions(box), ui);

    expect(planned.exitCode).toBe(0);
    const plan = ui.events.find((event) => event.type === 'plan.ready');
    expect(plan && plan.type === 'plan.ready' && plan.plan.items.length).toBeGreaterThan(0);
    expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
      .toBe('AutoResolveIntegrationRuntime');
  });

  it('stops before any change, never writing the mask, when a secret is missing', async () => {
    const before = stored(box, 'linkedservices', 'RestService');
    const ui = recordingUI();

    const noSecrets = { resolve: async () => undefined };
    const failed = await runFix(sessionOptions(box, { secrets: noSecrets }), ui);

    expect(failed.exitCode).toBe(5);
    expect(failed.summary.error?.code).toBe('secret-unavailable');
    expect(failed.summary.error?.what)
      .toContain('RestService:/typeProperties/authHeaders/x-api-key');
    expect(failed.summary.error?.what).toContain('PartnerFiles:/typeProperties/password');
    expect(failed.summary.error?.what).toContain('nothing was changed');
    expect(ui.events.some((event) => event.type === 'step.started')).toBe(false);
    expect(failed.summary.changes).toEqual({ created: [], updated: [], deleted: [] });
    expect(stored(box, 'linkedservices', 'RestService')).toEqual(before);
  }, 60_000);
});

describe('answerOf', () => {
  const e2e = { isPassing: true, status: 'succeeded' as const, runtimeName: 'ir',
    apiUrl: 'https://api.example/x', detail: '' };

  it('gives the time the API took, and none when the service reports 0 ms', () => {
    expect(answerOf({ ...e2e, statusCode: 200, durationMs: 1234 }))
      .toBe('GET https://api.example/x answered 200 in 1.2 s');
    expect(answerOf({ ...e2e, durationMs: 0 }))
      .toBe('GET https://api.example/x answered with a 2xx status');
  });
});
