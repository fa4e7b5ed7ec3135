/**
 * Ctrl-C (SIGINT to the built CLI, no terminal) while the VM is being created at half demo
 * pace (sent once the journal shows the create in flight).
 * One press: the CLI says what it stops and that the change is parked (a rerun resumes it),
 * parks it, exits 130 by itself, and leaves a journal with no change in doubt and no torn
 * line. Two presses: it exits 130 at once, leaving the VM create in doubt. Either way the same
 * fix, run again, resumes the session and ends with the same world as an uninterrupted run.
 * A press during a linked-service rewrite followed by a rollback gives back the world as it
 * was before the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DoctorEvent } from '../../source/engine/events.js';
import { readJournal, sessionDirectory } from '../../source/engine/journal.js';
import {
  ensureBuilt,
  fixedStateDir,
  freshStateDir,
  isInFlight,
  issuedKeys,
  keyLeaks,
  outputsOf,
  removeStateDirs,
  sandboxArgs,
  snapshot,
  startedOf,
  summaryOf,
  watchCli,
  type KillOrder,
  type WatchedRun,
  type WorldSnapshot,
} from './helpers.js';

const TIMEOUT = 120_000;

afterAll(removeStateDirs);
/** Half demo pace: the VM create still takes seconds, the way to it half as long. */
const PACE = 0.5;

let reference: WorldSnapshot;

beforeAll(async () => {
  await ensureBuilt();
  reference = await snapshot(await fixedStateDir());
}, TIMEOUT);

function isVmCreate(event: DoctorEvent): boolean {
  return event.type === 'step.progress' && event.message.startsWith('provisioning VM');
}

/** SIGINT once the journal shows the change announced by `event` in flight. */
function pressWhenInFlight(stateDir: string, label: string, name?: RegExp) {
  let sessionId: string | undefined;
  return (event: DoctorEvent, isAnnounced: boolean): KillOrder | undefined => {
    if (event.type === 'session.started') sessionId = event.sessionId;
    if (!isAnnounced) return undefined;

    return { signal: 'SIGINT', until: () => isInFlight(stateDir, sessionId, label, name) };
  };
}

function isInterruptNotice(event: DoctorEvent): boolean {
  return event.type === 'log' && event.message.startsWith('Interrupted:');
}

async function journalOf(stateDir: string, run: WatchedRun) {
  return readJournal(sessionDirectory(stateDir, startedOf(run).sessionId));
}

/**
 * Reruns the fix at full speed and checks it resumed the session to the reference world, with
 * the auth key in no output or artefact of either run.
 */
async function expectResumedToFixed(stateDir: string, interrupted: WatchedRun): Promise<void> {
  const rerun = await watchCli([...sandboxArgs('fix', stateDir), '--yes']);

  expect(rerun.code, rerun.stderr).toBe(0);
  expect(summaryOf(rerun).outcome).toBe('fixed');
  expect(startedOf(rerun).isResumed).toBe(true);
  expect(startedOf(rerun).sessionId).toBe(startedOf(interrupted).sessionId);
  expect(await snapshot(stateDir)).toEqual(reference);
  const outputs = outputsOf({ interrupted, rerun });
  expect(await keyLeaks(stateDir, outputs, await issuedKeys(stateDir))).toEqual([]);
}

describe('Ctrl-C during a fix', () => {
  it('first press: says the change is parked, parks it, journal consistent, resumes',
    async () => {
      const stateDir = await freshStateDir();
      const press = pressWhenInFlight(stateDir, 'virtual-machine create');
      const run = await watchCli([...sandboxArgs('fix', stateDir, PACE), '--yes'],
        (event) => press(event, isVmCreate(event)));
      const notice = run.events.find(isInterruptNotice);
      const journal = await journalOf(stateDir, run);

      expect(run.killedAt, run.stderr).toBeDefined();
      expect(notice?.type === 'log' && notice.message)
        .toMatch(/^Interrupted: stopping .*Virtual machine for the runtime.*\. The change in /);
      expect(notice?.type === 'log' && notice.message)
        .toContain('parked, not undone: run shir-doctor fix again to resume it');
      expect(run.stderr).toContain('The change in progress is parked');
      expect(run.code).toBe(130);
      expect(summaryOf(run).outcome).toBe('interrupted');
      expect(journal.uncertain).toEqual([]);
      expect(journal.hadTornLine).toBe(false);
      expect(journal.finished).toBeUndefined();

      await expectResumedToFixed(stateDir, run);
    }, TIMEOUT);

  it('second press: exits 130 at once, and the rerun still resumes to fixed', async () => {
    const stateDir = await freshStateDir();
    let presses = 0;
    // Once the VM create is in flight, and again as soon as the CLI announces the interrupt
    // (the VM create still has seconds to go at this pace).
    const press = pressWhenInFlight(stateDir, 'virtual-machine create');
    const run = await watchCli([...sandboxArgs('fix', stateDir, PACE), '--yes'],
      (event) => {
        const order = isInterruptNotice(event) ? 'SIGINT' : press(event, isVmCreate(event));
        if (order !== undefined) presses += 1;
        return order;
      });
    const journal = await journalOf(stateDir, run);

    expect(presses).toBe(2);
    expect(run.code).toBe(130);
    expect(run.events.some((event) => event.type === 'session.finished')).toBe(false);
    expect(journal.uncertain.map(({ change }) => change.kind)).toContain('virtual-machine');
    expect(journal.hadTornLine).toBe(false);

    await expectResumedToFixed(stateDir, run);
  }, TIMEOUT);

  it('first press during a linked-service rewrite, then rollback: the world is as before',
    async () => {
      const stateDir = await freshStateDir();
      const before = await snapshot(stateDir);
      // Get to the rewire quickly: kill once the node is online, resume at this pace.
      await watchCli([...sandboxArgs('fix', stateDir), '--yes'], (event) =>
        event.type === 'step.succeeded' && event.stepId === 'online' ? 'SIGKILL' : undefined);
      const press = pressWhenInFlight(stateDir, 'linked-service update', /^PartnerFiles$/);
      const run = await watchCli([...sandboxArgs('fix', stateDir, PACE), '--yes'],
        (event) => press(event, event.type === 'step.progress' &&
          event.message.startsWith('rewiring Linked service PartnerFiles')));
      const rollback = await watchCli([...sandboxArgs('rollback', stateDir), '--yes',
        '--delete-created']);

      expect(run.killedAt, run.stderr).toBeDefined();
      expect(run.code).toBe(130);
      expect(rollback.code, rollback.stderr).toBe(0);
      expect(await snapshot(stateDir)).toEqual(before);
    }, TIMEOUT);
});
