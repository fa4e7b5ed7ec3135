/**
 * The fix session on the field scenarios shipped in scenarios/ (SCENARIOS.md), one emulator
 * per test, timeScale 0.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { EventInput } from '../../source/engine/events.js';
import type { PlanItem } from '../../source/engine/types.js';
import { runFix, runRollback, runVerify } from '../../source/remediation/session.js';
import { startTestSandbox, stored, type TestSandbox } from '../helpers/sandbox.js';
import { recordingUI, sessionOptions } from '../helpers/session.js';

function planOf(ui: { events: EventInput[] }): PlanItem[] {
  const event = ui.events.find((item) => item.type === 'plan.ready');
  return event?.type === 'plan.ready' ? event.plan.items : [];
}

function findingIds(ui: { events: EventInput[] }): string[] {
  return ui.events.flatMap((event) => event.type === 'finding' ? [event.finding.id] : []);
}

function connectVia(box: TestSandbox, name: string): string {
  return stored(box, 'linkedservices', name).connectVia?.referenceName;
}

describe('fix on the field scenarios', () => {
  let box: TestSandbox | undefined;

  afterEach(async () => {
    await box?.cleanup();
    box = undefined;
  });

  it('F04: routes the cross-tenant data lake through the SHIR, never suggesting to drop DEP',
    async () => {
      box = await startTestSandbox({ scenario: 'F04' });
      const ui = recordingUI();

      const result = await runFix(sessionOptions(box), ui);

      expect(result.exitCode).toBe(0);
      expect(findingIds(ui)).toContain('linked-service.cross-tenant');
      expect(connectVia(box, 'PartnerDataLake')).toBe('shir-doctor-ir');
      expect(JSON.stringify(ui.events)).not.toMatch(/disabl\w* (DEP|data exfiltration)/i);
    }, 60_000);

  it('F05: leaves the shared runtime alone and says why', async () => {
    box = await startTestSandbox({ scenario: 'F05' });
    const ui = recordingUI();

    const result = await runFix(sessionOptions(box), ui);

    expect(result.exitCode).toBe(0);
    const shared = planOf(ui).find((item) => item.detail.includes('shared'));
    expect(shared?.action).toBe('keep');
    expect(connectVia(box, 'RestService')).toBe('shir-doctor-ir');
  }, 60_000);

  it('F07: names the blocked relay host from the runtime\'s own VM and creates nothing',
    async () => {
      box = await startTestSandbox({ scenario: 'F07' });
      const before = connectVia(box, 'RestService');

      const result = await runFix(sessionOptions(box), recordingUI());

      expect(result.exitCode).toBe(4);
      expect(result.summary.error?.what).toContain('servicebus.windows.net');
      expect(result.summary.changes.created).toEqual([]);
      expect(connectVia(box, 'RestService')).toBe(before);
    }, 60_000);

  it('F12: flags the expired runtime, the fix updates it, and verify passes', async () => {
    box = await startTestSandbox({ scenario: 'F12' });
    const ui = recordingUI();

    expect((await runFix(sessionOptions(box), ui)).exitCode).toBe(0);
    expect(findingIds(ui)).toContain('runtime.node-version-expired');
    expect(planOf(ui).some((item) => item.action === 'update' &&
      item.detail.includes('autoUpdate: Off -> On'))).toBe(true);

    const verifyUI = recordingUI();
    const verified = await runVerify(sessionOptions(box), verifyUI);
    expect(verified.exitCode).toBe(0);
    const version = verifyUI.events.find((e) => e.type === 'check' &&
      e.name === 'Runtime version and auto-update');
    expect(version?.type === 'check' && version.isPassing).toBe(true);
  }, 60_000);

  it('F16: keeps both stored secrets, parameters and annotations byte for byte, and rolls back',
    async () => {
      box = await startTestSandbox({ scenario: 'F16' });
      const path = `/dev/${box.target.workspaceName}/linkedservices/PartnerFiles`;
      const original = structuredClone((box.sandbox.peek(path) as any).properties);

      expect((await runFix(sessionOptions(box), recordingUI())).exitCode).toBe(0);

      const after = (box.sandbox.peek(path) as any).properties;
      expect(after.connectVia.referenceName).toBe('shir-doctor-ir');
      expect(JSON.stringify(after.typeProperties)).toBe(JSON.stringify(original.typeProperties));
      expect(JSON.stringify(after.parameters)).toBe(JSON.stringify(original.parameters));
      expect(JSON.stringify(after.annotations)).toBe(JSON.stringify(original.annotations));
      expect(JSON.stringify(after)).not.toContain('**********');

      expect((await runRollback(sessionOptions(box), recordingUI())).exitCode).toBe(0);
      expect(JSON.stringify((box.sandbox.peek(path) as any).properties))
        .toBe(JSON.stringify(original));
    }, 60_000);

  it('F14: removes the stale node of the rebuilt VM, with the plan\'s approval, and repairs',
    async () => {
      box = await startTestSandbox({ scenario: 'F14' });
      const ui = recordingUI();

      const result = await runFix(sessionOptions(box), ui);

      expect(result.summary.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      const removal = planOf(ui).find((item) => item.kind === 'runtime-node');
      expect(removal?.action).toBe('delete');
      expect(connectVia(box, 'RestService')).toBe('shir-etl');
    }, 60_000);
});
