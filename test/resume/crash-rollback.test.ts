/**
 * A crash is undoable as well as resumable: the built CLI is SIGKILLed as steps start,
 * and instead of resuming, `rollback --delete-created --yes` must give back the world exactly
 * as it was before the fix (definitions byte for byte, no resource left behind). A rollback
 * that is itself killed while restoring, then while deleting, finishes when run again; one
 * interrupted by Ctrl-C while restoring deletes nothing more and finishes when run again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fixSteps } from '../../source/remediation/session.js';
import {
  definitionsJson,
  ensureBuilt,
  freshStateDir,
  isInFlight,
  removeStateDirs,
  sandboxArgs,
  snapshot,
  summaryOf,
  watchCli,
  type WorldSnapshot,
} from './helpers.js';

const TIMEOUT = 120_000;

afterAll(removeStateDirs);
/**
 * Steps whose start finds a different set of changes made: nothing yet, the network, the VM
 * and runtime, a registered node, backed-up definitions, rewired ones.
 */
const STEP_IDS = ['network', 'vm', 'install', 'online', 'rewire', 'prove'];

beforeAll(ensureBuilt, TIMEOUT);

async function rollBackAll(stateDir: string) {
  return watchCli([...sandboxArgs('rollback', stateDir), '--delete-created', '--yes']);
}

describe('SIGKILL as a step starts, then rollback instead of resume', () => {
  it('picks steps of the graph', () => {
    const graph = fixSteps().map((step) => step.id);
    expect(STEP_IDS.every((id) => graph.includes(id))).toBe(true);
  });

  it.each(STEP_IDS)('after step.started %s', async (stepId) => {
    const stateDir = await freshStateDir();
    const before = await snapshot(stateDir);
    const killed = await watchCli([...sandboxArgs('fix', stateDir), '--yes'], (event) =>
      event.type === 'step.started' && event.stepId === stepId ? 'SIGKILL' : undefined);

    const rollback = await rollBackAll(stateDir);
    const after = await snapshot(stateDir);

    expect(killed.killedAt).toBeDefined();
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(['rolled-back', 'nothing-to-roll-back']).toContain(summaryOf(rollback).outcome);
    expect(definitionsJson(after)).toBe(definitionsJson(before));
    expect(after).toEqual(before);
  }, TIMEOUT);
});

describe('Ctrl-C during a rollback', () => {
  it('stops before the next change (no delete after it), and a rerun finishes', async () => {
    const stateDir = await freshStateDir();
    const before = await snapshot(stateDir);
    const fix = await watchCli([...sandboxArgs('fix', stateDir), '--yes']);
    const fixed = await snapshot(stateDir);
    expect(summaryOf(fix).outcome, fix.stderr).toBe('fixed');

    const interrupted = await watchCli([...sandboxArgs('rollback', stateDir, 1),
      '--delete-created', '--yes'], (event) => event.type === 'session.started'
      ? { signal: 'SIGINT', until: () => isInFlight(stateDir, event.sessionId,
        'linked-service update') } : undefined);
    const stopped = await snapshot(stateDir);
    const again = await rollBackAll(stateDir);

    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(summaryOf(interrupted).outcome).toBe('interrupted');
    // Rollback reports each restore as a step, so the message names the one it parks.
    expect(interrupted.stderr).toMatch(/Interrupted: stopping Restore linked-service \w+/);
    expect(interrupted.stderr).toContain('run shir-doctor rollback again to resume it');
    expect(stopped.names).toEqual(fixed.names);
    expect(stopped.nodes).toEqual(fixed.nodes);
    expect(again.code, again.stderr).toBe(0);
    expect(await snapshot(stateDir)).toEqual(before);
  }, TIMEOUT);
});

describe('a rollback killed half-way', () => {
  it('finishes when run again after being killed while restoring and while deleting',
    async () => {
      const stateDir = await freshStateDir();
      const before = await snapshot(stateDir);
      const fix = await watchCli([...sandboxArgs('fix', stateDir), '--yes']);
      expect(summaryOf(fix).outcome, fix.stderr).toBe('fixed');

      // At demo pacing restoring a definition and deleting the VM each take seconds: kill
      // while the journal shows one of each in flight.
      const killedRuns = [];
      for (const change of ['linked-service update', 'virtual-machine delete']) {
        killedRuns.push(await watchCli([...sandboxArgs('rollback', stateDir, 1),
          '--delete-created', '--yes'], (event) => event.type === 'session.started'
          ? { signal: 'SIGKILL', until: () => isInFlight(stateDir, event.sessionId, change) }
          : undefined));
      }
      const again = await rollBackAll(stateDir);

      expect(killedRuns.map((run) => run.signal)).toEqual(['SIGKILL', 'SIGKILL']);
      expect(again.code, again.stderr).toBe(0);
      expect(summaryOf(again).outcome).toBe('rolled-back');
      expect(await snapshot(stateDir)).toEqual(before);
    }, TIMEOUT);
});
