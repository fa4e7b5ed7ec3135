/**
 * A colleague edits a linked service after the fix backed it up and before it is rewired: that
 * item stops with a clear message and nothing of theirs is overwritten, the other items are
 * rewired, and the next fix (a resume) backs the edited definition up afresh and rewires it
 * keeping their change. Runs the session in-process, so the edit lands inside one fix.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { readJournal, sessionDirectory } from '../../source/engine/journal.js';
import { writeDefinition } from '../../source/remediation/definitions.js';
import { runFix } from '../../source/remediation/session.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { recordingUI, sessionOptions } from '../helpers/session.js';
import { freshStateDir, removeStateDirs, stored } from './helpers.js';

let box: TestSandbox | undefined;

afterEach(async () => {
  await box?.cleanup();
  box = undefined;
});

afterAll(removeStateDirs);

/** Slows every runtime status read, so an edit started after the backup lands well before
 * the rewire (which waits for the node to come online). */
function slowStatusFaults(dir: string): string {
  const path = join(dir, 'faults.json');
  writeFileSync(path, JSON.stringify([
    { method: 'POST', path: '/integrationRuntimes/[^/]+/getStatus', delayMs: 300, times: -1 },
  ]));
  return path;
}

describe('a definition changed between backup and rewire', () => {
  it('stops that item with a clear message, overwrites nothing, rewires the rest', async () => {
    const dir = await freshStateDir();
    box = await startTestSandbox({ stateDir: join(dir, 'sandbox'),
      faultsFile: slowStatusFaults(dir) });
    const sandbox = box;
    const workspace = await sandbox.clients.synapse.workspaces.get(sandbox.target.resourceGroup,
      sandbox.target.workspaceName);
    const dev = sandbox.clients.artifacts(workspace.connectivityEndpoints!.dev!);
    const edited = stored(sandbox, 'linkedservices', 'RestService') as Record<string, unknown>;
    edited.description = 'Partner orders API (edited by a colleague)';
    let edit: Promise<unknown> | undefined;
    let isEdited = false;
    let isEditedBeforeRewire: boolean | undefined;

    const ui = recordingUI((event) => {
      if (event.type === 'step.succeeded' && event.stepId === 'backup') {
        edit = writeDefinition(dev, 'linked-service', 'RestService', edited);
        void edit.then(() => (isEdited = true));
      }
      if (event.type === 'step.started' && event.stepId === 'rewire') {
        isEditedBeforeRewire = isEdited;
      }
    });
    const result = await runFix(sessionOptions(sandbox), ui);
    await edit;
    const sessionId = ui.events.find((event) => event.type === 'session.started');
    const journal = await readJournal(sessionDirectory(join(sandbox.stateDir, 'doctor'),
      sessionId?.type === 'session.started' ? sessionId.sessionId : ''));

    expect(isEditedBeforeRewire, 'the edit must land before the rewire').toBe(true);
    expect(result.exitCode).toBe(5);
    expect(result.summary.error?.code).toBe('etag-conflict');
    expect(result.summary.headline).toContain('RestService changed since shir-doctor backed ' +
      'it up; it was not rewired and nothing was overwritten.');
    expect(JSON.stringify(stored(sandbox, 'linkedservices', 'RestService')))
      .toBe(JSON.stringify(edited));
    expect(journal.changes.some(({ change }) => change.name === 'RestService')).toBe(false);
    expect(stored(sandbox, 'linkedservices', 'PartnerFiles'))
      .toMatchObject({ connectVia: { referenceName: 'shir-doctor-ir' } });

    const resumed = await runFix(sessionOptions(sandbox), recordingUI());

    expect(resumed.summary.error).toBeUndefined();
    expect(resumed.summary.outcome).toBe('fixed');
    expect(stored(sandbox, 'linkedservices', 'RestService')).toEqual({ ...edited,
      connectVia: { referenceName: 'shir-doctor-ir', type: 'IntegrationRuntimeReference' } });
  }, 60_000);
});
