/**
 * `verify` through the built CLI, on copies of one repaired world: exit 0 when all is well;
 * exit 3 naming the failing check when the node is offline (its VM was deleted), when a linked
 * service is unwired (put back on the managed runtime through the SDK), and when the API test
 * fails (an NSG rule added through the SDK denies outbound HTTPS from the VM). Verify changes
 * nothing in the world either way, and the test pipeline of a verify killed mid-test is gone
 * after the next verify, and does not block a rollback.
 */
import { cp } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DoctorEvent } from '../../source/engine/events.js';
import {
  editLinkedService,
  ensureBuilt,
  fixedStateDir,
  freshStateDir,
  issuedKeys,
  keyLeaks,
  outputsOf,
  removeStateDirs,
  sandboxArgs,
  snapshot,
  summaryOf,
  watchCli,
  withWorld,
  type WatchedRun,
} from './helpers.js';

const TIMEOUT = 120_000;

afterAll(removeStateDirs);
const POLL = { updateIntervalInMs: 0 };

let fixedDir = '';

beforeAll(async () => {
  await ensureBuilt();
  fixedDir = await fixedStateDir();
}, TIMEOUT);

/** A copy of the repaired state folder (sessions and world), changed by `breakIt`. */
async function brokenCopy(breakIt?: (stateDir: string) => Promise<unknown>): Promise<string> {
  const stateDir = await freshStateDir();
  await cp(fixedDir, stateDir, { recursive: true });
  await breakIt?.(stateDir);

  return stateDir;
}

type Check = Extract<DoctorEvent, { type: 'check' }>;

function checksOf(run: WatchedRun): Check[] {
  return run.events.filter((event): event is Check => event.type === 'check');
}

function failing(run: WatchedRun): string[] {
  return checksOf(run).filter((check) => !check.isPassing).map((check) => check.name);
}

/** Runs verify and checks that it changed nothing in the world. */
async function verify(stateDir: string): Promise<WatchedRun> {
  const before = await snapshot(stateDir);
  const run = await watchCli(sandboxArgs('verify', stateDir));

  expect(await snapshot(stateDir)).toEqual(before);
  return run;
}

describe('verify', () => {
  it('exits 0 with every check passing when all is well', async () => {
    const stateDir = await brokenCopy();
    const run = await verify(stateDir);

    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run).outcome).toBe('healthy');
    expect(checksOf(run).map((check) => check.name)).toEqual(expect.arrayContaining([
      'Runtime state', 'Node health', 'Connections on the self-hosted runtime',
      'Egress probe from the VM', 'End-to-end API test']));
    expect(failing(run)).toEqual([]);
    expect(await keyLeaks(stateDir, outputsOf({ run }), await issuedKeys(stateDir)))
      .toEqual([]);
  }, TIMEOUT);

  it('exits 3 when the node is offline', async () => {
    const stateDir = await brokenCopy((dir) => withWorld(dir, (box) =>
      box.clients.compute.virtualMachines.beginDeleteAndWait(box.target.resourceGroup,
        'shir-doctor-vm', POLL)));
    const run = await verify(stateDir);
    const runtime = checksOf(run).find((check) => check.name === 'Runtime state');

    expect(run.code, run.stderr).toBe(3);
    expect(summaryOf(run).outcome).toBe('unhealthy');
    expect(runtime?.isPassing).toBe(false);
    expect(runtime?.detail).toContain('shir-doctor-vm Offline');
  }, TIMEOUT);

  it('exits 3 when a linked service is unwired', async () => {
    const stateDir = await brokenCopy((dir) => editLinkedService(dir, 'RestService',
      (properties) => {
        properties.connectVia = { referenceName: 'AutoResolveIntegrationRuntime',
          type: 'IntegrationRuntimeReference' };
      }));
    const run = await verify(stateDir);
    const wiring = checksOf(run)
      .find((check) => check.name === 'Connections on the self-hosted runtime');

    expect(run.code, run.stderr).toBe(3);
    expect(failing(run)).toContain('Connections on the self-hosted runtime');
    expect(wiring?.detail).toContain('RestService');
  }, TIMEOUT);

  it('exits 3 when the end-to-end API test fails', async () => {
    const stateDir = await brokenCopy((dir) => withWorld(dir, async (box) => {
      const { networkSecurityGroups } = box.clients.network;
      const rg = box.target.resourceGroup;
      const nsg = await networkSecurityGroups.get(rg, 'shir-doctor-vm-nsg');
      nsg.securityRules = [...(nsg.securityRules ?? []), { name: 'deny-https-out',
        direction: 'Outbound', access: 'Deny', protocol: 'Tcp', priority: 100,
        sourceAddressPrefix: '*', sourcePortRange: '*', destinationAddressPrefix: 'Internet',
        destinationPortRange: '443' }];
      await networkSecurityGroups.beginCreateOrUpdateAndWait(rg, 'shir-doctor-vm-nsg', nsg,
        POLL);
    }));
    const run = await verify(stateDir);

    expect(run.code, run.stderr).toBe(3);
    expect(failing(run)).toContain('End-to-end API test');
    expect(summaryOf(run).isApiReachable).not.toBe(true);
  }, TIMEOUT);
});

describe('a verify killed during its API test', () => {
  /** Kills a verify at demo pacing once its test pipeline's run has started. */
  async function killedVerify(stateDir: string): Promise<WatchedRun> {
    const run = await watchCli(sandboxArgs('verify', stateDir, 1), (event) =>
      event.type === 'log' && event.message.startsWith('pipeline run') ? 'SIGKILL' : undefined);
    expect(run.signal, run.stderr).toBe('SIGKILL');
    expect(Object.keys((await snapshot(stateDir)).pipelines))
      .toContainEqual(expect.stringMatching(/^shir-doctor-e2e-/));
    return run;
  }

  it('leaves no test pipeline once the next verify has run', async () => {
    const stateDir = await brokenCopy();
    const before = await snapshot(stateDir);
    await killedVerify(stateDir);

    const run = await watchCli(sandboxArgs('verify', stateDir));

    expect(run.code, run.stderr).toBe(0);
    expect(await snapshot(stateDir)).toEqual(before);
  }, TIMEOUT);

  it('does not stop rollback --delete-created from removing the runtime', async () => {
    const stateDir = await brokenCopy();
    await killedVerify(stateDir);

    const rollback = await watchCli([...sandboxArgs('rollback', stateDir), '--delete-created',
      '--yes']);
    const after = await snapshot(stateDir);

    expect(rollback.code, rollback.stderr).toBe(0);
    expect(after.nodes).toEqual({});
    expect(Object.keys(after.pipelines)).toEqual(['CallPartnerApi']);
  }, TIMEOUT);
});
