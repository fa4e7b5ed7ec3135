/**
 * The journal, idempotence and rollback through the built CLI: the fix journals the original
 * definitions with their ETags and the ids of what it created, and no secret; a second fix
 * after success changes nothing and says so; `rollback --yes` puts every linked service and
 * pipeline back exactly as it was before the first fix (the emulator's stored bodies, secrets
 * included, compared as JSON); `--delete-created` removes what the session created; a
 * definition someone changed after the fix is left alone, and the rollback says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readJournal, sessionDirectory } from '../../source/engine/journal.js';
import { planHasChanges } from '../../source/engine/types.js';
import {
  definitionsJson,
  editLinkedService,
  ensureBuilt,
  freshStateDir,
  issuedKeys,
  keyLeaks,
  outputsOf,
  readTree,
  removeStateDirs,
  sandboxArgs,
  snapshot,
  startedOf,
  summaryOf,
  watchCli,
  withWorld,
  type WatchedRun,
  type WorldSnapshot,
} from './helpers.js';

const TIMEOUT = 120_000;

afterAll(removeStateDirs);

beforeAll(ensureBuilt, TIMEOUT);

/** A fresh world, its snapshot before anything ran, and a finished fix on it. */
async function fixedWorld(): Promise<{ stateDir: string; before: WorldSnapshot;
  fix: WatchedRun }> {
  const stateDir = await freshStateDir();
  const before = await snapshot(stateDir);
  const fix = await watchCli([...sandboxArgs('fix', stateDir), '--yes']);
  expect(summaryOf(fix).outcome, fix.stderr).toBe('fixed');

  return { stateDir, before, fix };
}

describe('after a full fix', () => {
  let stateDir = '';
  let before: WorldSnapshot;
  let fixed: WorldSnapshot;
  let keys: string[] = [];
  const runs: Record<string, WatchedRun> = {};

  beforeAll(async () => {
    const world = await fixedWorld();
    ({ stateDir, before } = world);
    runs.fix = world.fix;
    fixed = await snapshot(stateDir);
    keys = await issuedKeys(stateDir);
  }, TIMEOUT);

  it('journals the original definitions with their ETags and the ids of what it created, '
    + 'and no secret', async () => {
    const journal = await readJournal(sessionDirectory(stateDir, startedOf(runs.fix!).sessionId));
    const backups = journal.backups.map((backup) => `${backup.kind} ${backup.name}`).sort();
    const created = journal.created.filter((id) => id.startsWith('/subscriptions/'))
      .map((id) => id.split('/').at(-1)).sort();
    const secrets = await withWorld(stateDir, async (box) =>
      Object.values(box.sandbox.adminSecrets));
    const files = await readTree(journal.directory);

    expect(backups).toEqual(['linked-service PartnerFiles', 'linked-service RestService',
      'pipeline CallPartnerApi']);
    expect(journal.backups.every((backup) => typeof backup.etag === 'string')).toBe(true);
    expect(created).toEqual(expect.arrayContaining(['shir-doctor-ir', 'shir-doctor-vm',
      'shir-doctor-vm-nic', 'shir-doctor-vm-vnet', 'shir-doctor-vm-nsg',
      'shir-doctor-vm-natgw', 'shir-doctor-vm-egress-ip']));
    expect(secrets.length).toBeGreaterThan(1);
    expect(Object.entries(files).filter(([, text]) => secrets.some((secret) =>
      text.includes(secret))).map(([path]) => path)).toEqual([]);
  });

  it('a second fix plans no changes and says so', async () => {
    const again = await watchCli([...sandboxArgs('fix', stateDir), '--yes']);
    runs.again = again;
    const plan = again.events.find((event) => event.type === 'plan.ready');

    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again).outcome).toBe('healthy');
    expect(plan?.type === 'plan.ready' && planHasChanges(plan.plan)).toBe(false);
    expect(again.events.some((event) => event.type === 'step.started')).toBe(false);
    expect(summaryOf(again).headline).toMatch(/^Nothing to change/);
    expect(again.stderr).toContain('Nothing to change');
    expect(await snapshot(stateDir)).toEqual(fixed);
  }, TIMEOUT);

  it('rollback --yes restores every definition byte for byte and keeps what was created',
    async () => {
      const rollback = await watchCli([...sandboxArgs('rollback', stateDir), '--yes']);
      runs.rollback = rollback;
      const after = await snapshot(stateDir);

      expect(rollback.code, rollback.stderr).toBe(0);
      expect(summaryOf(rollback).outcome).toBe('rolled-back');
      expect(definitionsJson(after)).toBe(definitionsJson(before));
      expect(definitionsJson(fixed)).not.toBe(definitionsJson(before));
      expect(after.names).toEqual(fixed.names);
      expect(summaryOf(rollback).headline).toContain('--delete-created');
    }, TIMEOUT);

  it('rollback --session ID --delete-created --yes then removes what the session created',
    async () => {
      const sessionId = startedOf(runs.fix!).sessionId;
      const rollback = await watchCli([...sandboxArgs('rollback', stateDir), '--session',
        sessionId, '--delete-created', '--yes']);
      runs.deleted = rollback;
      const after = await snapshot(stateDir);

      expect(rollback.code, rollback.stderr).toBe(0);
      expect(startedOf(rollback).sessionId).toBe(sessionId);
      expect(fixed.names.vm).toEqual(['shir-doctor-vm']);
      expect(after).toEqual(before);
    }, TIMEOUT);

  it('leaves the auth key in no output, journal, log or report', async () => {
    expect(keys.length).toBeGreaterThan(0);
    expect(await keyLeaks(stateDir, outputsOf(runs), keys)).toEqual([]);
  });
});

describe('a definition changed after the fix', () => {
  it('is not overwritten by rollback, which says so and restores the rest', async () => {
    const { stateDir, before } = await fixedWorld();
    const edited = await editLinkedService(stateDir, 'RestService', (properties) => {
      properties.folder = { name: 'changed-by-a-colleague' };
    });

    const rollback = await watchCli([...sandboxArgs('rollback', stateDir), '--yes']);
    const after = await snapshot(stateDir);
    const summary = summaryOf(rollback);

    expect(rollback.code).toBe(5);
    expect(summary.error?.code).toBe('etag-conflict');
    expect(summary.headline).toMatch(/RestService changed after .* it was not restored/);
    expect(rollback.stderr).toContain('RestService changed after');
    expect(JSON.stringify(after.linkedServices.RestService)).toBe(JSON.stringify(edited));
    expect(JSON.stringify(after.linkedServices.PartnerFiles))
      .toBe(JSON.stringify(before.linkedServices.PartnerFiles));
    expect(JSON.stringify(after.pipelines)).toBe(JSON.stringify(before.pipelines));
    expect(after.linkedServices.RestService).toMatchObject({
      folder: { name: 'changed-by-a-colleague' } });
  }, TIMEOUT);
});
