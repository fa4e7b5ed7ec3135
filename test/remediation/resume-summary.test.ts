/**
 * A resumed fix counts as created what an earlier run's cut-off create left behind and the
 * rerun took over (the VM), in the summary and the report.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { sessionDirectory } from '../../source/engine/journal.js';
import { runFix } from '../../source/remediation/session.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { recordingUI as ui, sessionOptions } from '../helpers/session.js';

const options = (box: TestSandbox) => sessionOptions(box);

/** Rewrites the journal as if the run had died while the VM create was in flight. */
async function cutOffVmCreate(directory: string): Promise<void> {
  const path = join(directory, 'journal.jsonl');
  const entries = (await readFile(path, 'utf8')).trim().split('\n')
    .map((line) => JSON.parse(line) as Record<string, any>);
  const vmIntent = entries.find((entry) => entry.type === 'intent' &&
    entry.change.kind === 'virtual-machine' && entry.change.action === 'create');
  expect(vmIntent).toBeDefined();
  const kept = entries.filter((entry) => entry.type !== 'finished' &&
    !(entry.type === 'outcome' && entry.id === vmIntent?.id));
  await writeFile(path, kept.map((entry) => JSON.stringify(entry)).join('\n') + '\n');
}

describe('summary of a resumed fix', () => {
  let box: TestSandbox;

  beforeEach(async () => {
    box = await startTestSandbox({ scenario: 'F01' });
  });

  afterEach(async () => {
    await box?.cleanup();
  });

  it('lists as created the VM whose create the earlier run left in flight', async () => {
    const firstUi = ui();
    expect((await runFix(options(box), firstUi)).exitCode).toBe(0);
    const started = firstUi.events.find((event) => event.type === 'session.started');
    const sessionId = started?.type === 'session.started' ? started.sessionId : '';
    await cutOffVmCreate(sessionDirectory(options(box).stateDir, sessionId));

    const rerunUi = ui();
    const rerun = await runFix(options(box), rerunUi);

    const resumed = rerunUi.events.find((event) => event.type === 'session.started');
    expect(resumed?.type === 'session.started' && resumed.isResumed).toBe(true);
    expect(rerun.exitCode).toBe(0);
    expect(rerun.summary.changes.created).toContain('virtual-machine shir-doctor-vm');
    const markdown = await readFile(rerun.summary.reportPaths.markdown ?? '', 'utf8');
    expect(markdown).toContain('virtual-machine shir-doctor-vm');
  }, 60_000);
});
