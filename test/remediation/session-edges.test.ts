/**
 * Session edge cases on variants of scenario F01 written at run time: not DEP-locked (F03), a
 * slow API (F18), a definition edited after the fix (rollback refuses it), an unrepaired
 * workspace under verify, and an interrupted fix that resumes.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { writeDefinition } from '../../source/remediation/definitions.js';
import { testPipelineName } from '../../source/remediation/plan.js';
import { runFix, runRollback, runVerify } from '../../source/remediation/session.js';
import { startTestSandbox, stored, type TestSandbox } from '../helpers/sandbox.js';
import { editedF01, workspaceOf } from '../helpers/scenario.js';
import { recordingUI, sessionOptions } from '../helpers/session.js';

describe('session edge cases', () => {
  let box: TestSandbox | undefined;

  afterEach(async () => {
    await box?.cleanup();
    box = undefined;
  });

  it('changes nothing in a workspace that is not DEP-locked (F03)', async () => {
    box = await startTestSandbox({ scenario: editedF01((s) => {
      workspaceOf(s).properties.managedVirtualNetwork = '';
    }) });
    const before = stored(box, 'linkedservices', 'RestService');

    const result = await runFix(sessionOptions(box), recordingUI());

    expect(result.exitCode).toBe(4);
    expect(result.summary.outcome).toBe('not-applicable');
    expect(result.summary.headline).toContain('not DEP-locked');
    expect(result.summary.headline).toContain('block lies elsewhere');
    expect(stored(box, 'linkedservices', 'RestService')).toEqual(before);
  });

  it('has nothing to do in a DEP workspace whose connections need no SHIR', async () => {
    box = await startTestSandbox({ scenario: editedF01((s) => {
      const ws = Object.values(s.workspaces)[0] as any;
      ws.linkedServices = ws.linkedServices
        .filter((l: any) => l.properties.type === 'AzureBlobFS');
      ws.pipelines = [];
    }) });
    const ui = recordingUI();

    const result = await runFix(sessionOptions(box), ui);

    expect(result.exitCode).toBe(0);
    expect(result.summary.outcome).toBe('healthy');
    expect(result.summary.headline).toContain('no linked service or Web activity');
    expect(ui.events.some((e) => e.type === 'step.started')).toBe(false);
  });

  it('reports a slow API as a timeout naming the API, and removes the test pipeline (F18)',
    async () => {
      box = await startTestSandbox({ scenario: editedF01((s) => {
        s.internet['api.partner.example'] = { latencyMs: 45_000 };
      }) });

      const ui = recordingUI();
      const result = await runFix(sessionOptions(box), ui);

      expect(result.exitCode).toBe(5);
      expect(result.summary.error?.code).toBe('api-timeout');
      expect(result.summary.error?.what).toContain('api.partner.example');
      expect(result.summary.error?.what).toContain('30 s');
      const started = ui.events.find((e) => e.type === 'session.started');
      const sessionId = started?.type === 'session.started' ? started.sessionId : '';
      const progress = ui.events.filter((e) => e.type === 'step.progress' && e.stepId === 'prove');
      expect(progress.length).toBeGreaterThan(0);
      expect(stored(box, 'pipelines', testPipelineName(sessionId))).toBeUndefined();

      const rerun = await runFix(sessionOptions(box), recordingUI());
      expect(rerun.summary.outcome).toBe('failed');
      expect(rerun.summary.error?.code).toBe('api-timeout');
    }, 60_000);

  it('verify reports failing checks on an unrepaired workspace (exit 3)', async () => {
    box = await startTestSandbox({ scenario: 'F01' });
    const ui = recordingUI();

    const result = await runVerify(sessionOptions(box), ui);

    expect(result.exitCode).toBe(3);
    expect(result.summary.outcome).toBe('unhealthy');
    const failing = ui.events.filter((e) => e.type === 'check' && !e.isPassing)
      .map((e) => e.type === 'check' && e.name);
    expect(failing).toContain('Runtime state');
    expect(failing).toContain('Connections on the self-hosted runtime');
  });

  it('rollback refuses a definition someone changed after the fix, restores the rest',
    async () => {
      box = await startTestSandbox({ scenario: 'F01' });
      const files = stored(box, 'linkedservices', 'PartnerFiles');
      const fixed = await runFix(sessionOptions(box), recordingUI());
      expect(fixed.exitCode).toBe(0);
      const dev = box.clients.artifacts(
        (await box.clients.synapse.workspaces.get(box.target.resourceGroup,
          box.target.workspaceName)).connectivityEndpoints!.dev!);
      const edited = stored(box, 'linkedservices', 'RestService');
      edited.description = 'changed by a colleague after the fix';
      await writeDefinition(dev, 'linked-service', 'RestService', edited);

      const result = await runRollback(sessionOptions(box), recordingUI());

      expect(result.exitCode).toBe(5);
      expect(result.summary.error?.code).toBe('etag-conflict');
      expect(result.summary.headline).toContain('RestService');
      expect(stored(box, 'linkedservices', 'RestService').description)
        .toBe('changed by a colleague after the fix');
      expect(JSON.stringify(stored(box, 'linkedservices', 'PartnerFiles')))
        .toBe(JSON.stringify(files));
    }, 60_000);

  it('rides out throttling on the linked-service writes without duplicating a change (F20)',
    async () => {
      box = await startTestSandbox({ scenario: editedF01((s) => {
        s.faults = [
          { method: 'PUT', path: '/linkedservices/', status: 429, retryAfter: 0, times: 2 },
          { method: 'GET', path: 'operationStatuses', status: 500, times: 1 },
        ];
      }) });

      const result = await runFix(sessionOptions(box), recordingUI());

      expect(result.summary.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      expect(result.summary.retries).toBeGreaterThanOrEqual(2);
      expect(result.summary.changes.updated.filter((c) => c.startsWith('linked-service')))
        .toEqual(['linked-service RestService', 'linked-service PartnerFiles']);
      expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
        .toBe('shir-doctor-ir');
    }, 60_000);

  it('runs the end-to-end test again when a resumed session has nothing left to change',
    async () => {
      box = await startTestSandbox({ scenario: 'F01' });
      const controller = new AbortController();
      const first = await runFix(sessionOptions(box, { signal: controller.signal }), recordingUI(
        (event) => {
          if (event.type === 'step.succeeded' && event.stepId === 'rewire') controller.abort();
        }));
      expect(first.summary.outcome).toBe('interrupted');

      const ui = recordingUI();
      const second = await runFix(sessionOptions(box), ui);

      expect(second.summary.outcome).toBe('fixed');
      expect(second.summary.isApiReachable).toBe(true);
      expect(ui.events.some((e) => e.type === 'step.started' && e.stepId === 'prove'))
        .toBe(true);
    }, 60_000);

  it('takes a fresh baseline when a definition changed between an interrupted run and its resume',
    async () => {
      box = await startTestSandbox({ scenario: 'F01' });
      const controller = new AbortController();
      await runFix(sessionOptions(box, { signal: controller.signal }), recordingUI((event) => {
        if (event.type === 'step.succeeded' && event.stepId === 'rewire') controller.abort();
      }));
      const dev = box.clients.artifacts((await box.clients.synapse.workspaces.get(
        box.target.resourceGroup, box.target.workspaceName)).connectivityEndpoints!.dev!);
      const edited = stored(box, 'linkedservices', 'RestService');
      edited.description = 'edited while the session was interrupted';
      edited.connectVia.referenceName = 'AutoResolveIntegrationRuntime';
      await writeDefinition(dev, 'linked-service', 'RestService', edited);

      const resumed = await runFix(sessionOptions(box), recordingUI());

      expect(resumed.summary.error).toBeUndefined();
      expect(resumed.summary.outcome).toBe('fixed');
      const after = stored(box, 'linkedservices', 'RestService');
      expect(after.description).toBe('edited while the session was interrupted');
      expect(after.connectVia.referenceName).toBe('shir-doctor-ir');

      expect((await runRollback(sessionOptions(box), recordingUI())).exitCode).toBe(0);
      expect(JSON.stringify(stored(box, 'linkedservices', 'RestService')))
        .toBe(JSON.stringify(edited));
    }, 60_000);

  it('resumes an interrupted fix in the same session and finishes it', async () => {
    box = await startTestSandbox({ scenario: 'F01' });
    const controller = new AbortController();
    const ui = recordingUI((event) => {
      if (event.type === 'step.succeeded' && event.stepId === 'online') controller.abort();
    });

    const first = await runFix(sessionOptions(box, { signal: controller.signal }), ui);
    expect(first.exitCode).toBe(130);
    expect(first.summary.outcome).toBe('interrupted');
    expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
      .toBe('AutoResolveIntegrationRuntime');

    const resumedUI = recordingUI();
    const second = await runFix(sessionOptions(box), resumedUI);

    const started = resumedUI.events.find((e) => e.type === 'session.started');
    expect(started?.type === 'session.started' && started.isResumed).toBe(true);
    const firstStarted = ui.events.find((e) => e.type === 'session.started');
    expect(started?.type === 'session.started' && started.sessionId)
      .toBe(firstStarted?.type === 'session.started' && firstStarted.sessionId);
    expect(second.summary.error).toBeUndefined();
    expect(second.exitCode).toBe(0);
    expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
      .toBe('shir-doctor-ir');
  }, 60_000);
});
