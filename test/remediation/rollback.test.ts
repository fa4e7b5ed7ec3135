import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { JournalContents } from '../../source/engine/journal.js';
import { changedDefinitions, createdToDelete } from '../../source/remediation/rollback.js';
import {
  runFix,
  runRollback,
  type SessionOptions,
} from '../../source/remediation/session.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { recordingUI as ui, sessionOptions } from '../helpers/session.js';

const options = sessionOptions;

function change(id: string, action: 'create' | 'update' | 'delete', resourceId: string,
  isOk = true) {
  return { id, at: id, change: { action, kind: 'virtual-machine' as const, name: id, resourceId },
    result: isOk ? { isOk: true as const } : undefined };
}

describe('rollback bookkeeping', () => {
  it('deletes created resources newest first, skipping ones already deleted', () => {
    const contents = {
      created: ['/a', '/b', 'https://dev/pipelines/e2e', '/c'],
      changes: [change('1', 'create', '/a'), change('2', 'delete', 'https://dev/pipelines/e2e')],
    } as unknown as JournalContents;

    expect(createdToDelete(contents)).toEqual(['/c', '/b', '/a']);
  });

  it('restores only what the session wrote or may have written', () => {
    const contents = {
      state: {
        'backup:linked-service:Written': { text: '{}' },
        'rewired:linked-service:Written': '"e2"',
        'backup:linked-service:Untouched': { text: '{}' },
        'backup:pipeline:Uncertain': { text: '{}' },
      },
      uncertain: [{ change: { action: 'update', kind: 'pipeline', name: 'Uncertain' } }],
    } as unknown as JournalContents;

    expect(changedDefinitions(contents)).toEqual([
      { kind: 'linked-service', name: 'Written' },
      { kind: 'pipeline', name: 'Uncertain' },
    ]);
  });
});

describe('rollback against the emulator', () => {
  let box: TestSandbox;

  beforeEach(async () => {
    box = await startTestSandbox({ scenario: 'F01' });
  });

  afterEach(async () => {
    await box?.cleanup();
  });

  it('deletes what the fix created only when asked, then has nothing left to do', async () => {
    expect((await runFix(options(box), ui())).exitCode).toBe(0);
    const { subscriptionId, resourceGroup, workspaceName } = box.target;
    const rg = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers`;
    const vmId = `${rg}/Microsoft.Compute/virtualMachines/shir-doctor-vm`;
    const irId = `${rg}/Microsoft.Synapse/workspaces/${workspaceName}/integrationRuntimes/` +
      'shir-doctor-ir';
    expect(box.sandbox.peek(vmId)).toBeDefined();

    const result = await runRollback(options(box, { deleteCreated: true }), ui());

    expect(result.exitCode).toBe(0);
    expect(result.summary.outcome).toBe('rolled-back');
    expect(box.sandbox.peek(vmId)).toBeUndefined();
    expect(box.sandbox.peek(irId)).toBeUndefined();
    expect(result.summary.changes.deleted).toContain('virtual-machine shir-doctor-vm');

    const again = await runRollback(options(box), ui());
    expect(again.exitCode).toBe(0);
    expect(again.summary.outcome).toBe('nothing-to-roll-back');
    expect(again.summary.headline).toBe('No fix session in this state folder changed this ' +
      'workspace.');
  }, 60_000);

  it('detaches the NAT gateway it added to an existing subnet before deleting it (F17)',
    async () => {
      await box.cleanup();
      box = await startTestSandbox({ scenario: 'F17' });
      const withVm = (extra: Partial<SessionOptions> = {}) =>
        options(box, { target: { ...box.target, vmName: 'vm-etl-01' }, ...extra });
      expect((await runFix(withVm(), ui())).exitCode).toBe(0);
      const { subscriptionId, resourceGroup } = box.target;
      const subnetId = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}` +
        '/providers/Microsoft.Network/virtualNetworks/vnet-etl/subnets/snet-etl';
      expect((box.sandbox.peek(subnetId) as any).properties.natGateway).toBeDefined();

      const result = await runRollback(withVm({ deleteCreated: true }), ui());

      expect(result.summary.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      expect((box.sandbox.peek(subnetId) as any).properties.natGateway).toBeUndefined();
      expect(result.summary.changes.deleted).toContain('nat-gateway vm-etl-01-natgw');
    }, 60_000);

  it('refuses an unknown --session', async () => {
    const result = await runRollback(options(box, { sessionId: 'nope' }), ui());

    expect(result.exitCode).toBe(2);
    expect(result.summary.error?.code).toBe('session-not-found');
    expect(result.summary.error?.fix).toMatch(/nothing to roll back|--session with one of/);
  });

  it('an unknown --session names the sessions that made changes', async () => {
    const fixUi = ui();
    expect((await runFix(options(box), fixUi)).exitCode).toBe(0);
    const started = fixUi.events.find((event) => event.type === 'session.started');
    const fixId = started?.type === 'session.started' ? started.sessionId : 'no session id';
    const result = await runRollback(options(box, { sessionId: 'nope' }), ui());

    expect(result.summary.error?.fix).toContain(`--session with one of the sessions`);
    expect(result.summary.error?.fix).toContain(fixId);
  }, 60_000);
});

describe('rollback progress', () => {
  let box: TestSandbox;

  beforeEach(async () => {
    box = await startTestSandbox({ scenario: 'F01' });
  });

  afterEach(async () => {
    await box?.cleanup();
  });

  it('reports each restore and delete as a step while it happens', async () => {
    expect((await runFix(options(box), ui())).exitCode).toBe(0);
    const rollbackUi = ui();

    const result = await runRollback(options(box, { deleteCreated: true }), rollbackUi);

    expect(result.exitCode).toBe(0);
    const started = rollbackUi.events.filter((event) => event.type === 'step.started');
    const titles = started.map((event) => event.type === 'step.started' ? event.title : '');
    expect(titles.some((title) => title.startsWith('Restore '))).toBe(true);
    expect(titles).toContain('Delete virtual-machine shir-doctor-vm');
    const ids = started.map((event) => event.type === 'step.started' ? event.stepId : '');
    const ended = rollbackUi.events
      .filter((event) => event.type === 'step.succeeded' || event.type === 'step.skipped')
      .map((event) => 'stepId' in event ? event.stepId : '');
    expect(ended.sort()).toEqual([...ids].sort());
    const finished = rollbackUi.events.findIndex((event) => event.type === 'session.finished');
    const lastStep = rollbackUi.events.map((event) => event.type).lastIndexOf('step.succeeded');
    expect(lastStep).toBeLessThan(finished);
  }, 60_000);
});
