/**
 * Kill-and-resume at every step boundary: the built CLI is SIGKILLed right after each
 * `step.started` and each `step.succeeded` (or `step.skipped`) of every step in the fix graph,
 * then the same command runs again. The rerun must resume the interrupted session, reach the
 * same end state as an uninterrupted run, and leave no duplicate resource behind; no output or
 * artefact of either run holds the auth key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DoctorEvent } from '../../source/engine/events.js';
import { readJournal, sessionDirectory } from '../../source/engine/journal.js';
import { fixSteps } from '../../source/remediation/session.js';
import {
  ensureBuilt,
  fixedStateDir,
  freshStateDir,
  issuedKeys,
  keyLeaks,
  outputsOf,
  removeStateDirs,
  sandboxArgs,
  snapshot,
  startedOf,
  summaryOf,
  watchCli,
  type WorldSnapshot,
} from './helpers.js';

const TIMEOUT = 120_000;

afterAll(removeStateDirs);
const STEP_IDS = fixSteps().map((step) => step.id);

/** The world after one uninterrupted fix: every resumed run must end here too. */
let reference: WorldSnapshot;

beforeAll(async () => {
  await ensureBuilt();
  reference = await snapshot(await fixedStateDir());
}, TIMEOUT);

type Boundary = 'started' | 'ended';

/** The definitions the fix rewires in scenario F01. */
const REWIRED = ['RestService', 'PartnerFiles', 'CallPartnerApi'];

/**
 * Writes to each rewired definition across the killed run and its resume: never more than one
 * that completed, and at least one attempt (a write cut off by the kill stays in doubt).
 */
async function writesPerDefinition(stateDir: string, sessionId: string) {
  const journal = await readJournal(sessionDirectory(stateDir, sessionId));
  const updates = journal.changes.filter(({ change }) => change.action === 'update');

  return REWIRED.map((name) => {
    const mine = updates.filter(({ change }) => change.name === name);
    const done = mine.filter(({ result }) => result?.isOk === true).length;
    return { name, isWrittenOnce: done === 1 || (done === 0 && mine.length > 0) };
  });
}

function isBoundary(event: DoctorEvent, stepId: string, boundary: Boundary): boolean {
  if (!('stepId' in event) || event.stepId !== stepId) return false;
  if (boundary === 'started') return event.type === 'step.started';

  return event.type === 'step.succeeded' || event.type === 'step.skipped';
}

/** Kills a fix at the boundary, reruns it, and checks the resumed end state. */
async function killAndResume(stepId: string, boundary: Boundary): Promise<void> {
  const stateDir = await freshStateDir();
  const args = [...sandboxArgs('fix', stateDir), '--yes'];

  const killed = await watchCli(args, (event) =>
    isBoundary(event, stepId, boundary) ? 'SIGKILL' : undefined);
  const rerun = await watchCli(args);
  const world = await snapshot(stateDir);
  const keys = await issuedKeys(stateDir);
  const writes = await writesPerDefinition(stateDir, startedOf(killed).sessionId);

  expect(killed.killedAt, `never reached ${boundary} ${stepId}`).toBeDefined();
  expect(killed.signal).toBe('SIGKILL');
  expect(rerun.code, rerun.stderr).toBe(0);
  expect(['fixed', 'healthy']).toContain(summaryOf(rerun).outcome);
  expect(startedOf(rerun).isResumed).toBe(true);
  expect(startedOf(rerun).sessionId).toBe(startedOf(killed).sessionId);
  expect(world).toEqual(reference);
  expect(writes).toEqual(REWIRED.map((name) => ({ name, isWrittenOnce: true })));
  expect(keys.length).toBeGreaterThan(0);
  expect(await keyLeaks(stateDir, outputsOf({ killed, rerun }), keys)).toEqual([]);
}

describe('SIGKILL at every step boundary, then the same fix again', () => {
  it('knows the step graph', () => {
    expect(STEP_IDS).toEqual(expect.arrayContaining(['network', 'vm', 'runtime', 'install',
      'online', 'backup', 'rewire', 'prove']));
  });

  it.each(STEP_IDS)('after step.started %s', (stepId) => killAndResume(stepId, 'started'),
    TIMEOUT);

  it.each(STEP_IDS)('after the end of %s', (stepId) => killAndResume(stepId, 'ended'),
    TIMEOUT);
});
