import { afterEach, describe, expect, it } from 'vitest';

import { containsSecret, redact } from '../../source/engine/redact.js';
import {
  authKeyStep,
  readRuntimeStatus,
  runtimeStep,
  runtimeUpdateStep,
  staleNodesStep,
} from '../../source/remediation/runtime.js';
import { type HostFixture, type ScenarioEdit, startHostFixture } from './host.fixture.js';

let fixture: HostFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** Adds a self-hosted runtime (ARM body plus service-side seed) to F01. */
function withRuntime(
  name: string,
  seed: Record<string, unknown>,
  properties: Record<string, unknown> = { type: 'SelfHosted' },
): ScenarioEdit {
  return (scenario) => ({
    ...scenario,
    resources: [...scenario.resources, {
      id: '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/' +
        `Microsoft.Synapse/workspaces/{workspaceName}/integrationRuntimes/${name}`,
      name,
      type: 'Microsoft.Synapse/workspaces/integrationRuntimes',
      properties,
    }],
    runtimes: { ...(scenario.runtimes ?? {}), [`{workspaceName}/${name}`]: seed },
  });
}

describe('runtime step (emulator)', () => {
  it('creates the self-hosted runtime once, journaled, and finds it on a rerun', async () => {
    fixture = await startHostFixture();

    const first = await fixture.run(runtimeStep());
    const second = await fixture.run(runtimeStep());

    expect(first).toEqual({ status: 'succeeded',
      summary: 'Created self-hosted runtime shir-doctor-ir' });
    expect(second.status).toBe('succeeded');
    expect(second.status === 'succeeded' && second.summary).toMatch(/^Found shir-doctor-ir/);
    const intents = fixture.journal.entries.filter((entry) => entry.type === 'intent');
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({ change: { action: 'create',
      kind: 'integration-runtime', name: 'shir-doctor-ir' } });
    const view = await readRuntimeStatus(fixture.context.clients, fixture.context.target,
      'shir-doctor-ir');
    expect(view).toMatchObject({ type: 'SelfHosted', isShared: false, nodes: [] });
  });

  it('F05: refuses to reuse a runtime that carries linkedInfo', async () => {
    fixture = await startHostFixture({
      edit: withRuntime('shared-ir', {}, { type: 'SelfHosted', typeProperties: {
        linkedInfo: { authorizationType: 'RBAC',
          resourceId: '/subscriptions/x/resourceGroups/y/providers/Microsoft.DataFactory/' +
            'factories/z/integrationruntimes/shared' } } }),
      decisions: { runtimeName: 'shared-ir', isRuntimeNew: false },
    });

    await expect(fixture.run(runtimeStep())).rejects.toThrowError(/shared \(linked\) runtime/);
    expect(fixture.journal.entries).toEqual([]);
  });

  it('F15: a runtime with four nodes gets no fifth', async () => {
    const nodes = ['n1', 'n2', 'n3', 'n4'].map((nodeName) => ({ nodeName, status: 'Online' }));
    fixture = await startHostFixture({
      edit: withRuntime('full-ir', { nodes }),
      decisions: { runtimeName: 'full-ir', isRuntimeNew: false },
    });

    await expect(fixture.run(runtimeStep())).rejects.toThrowError(/already has 4 nodes/);
  });
});

describe('auth-key step (emulator)', () => {
  it('F13: fetches the key into memory only, registered with the redactor at once', async () => {
    fixture = await startHostFixture();
    await fixture.run(runtimeStep());

    const outcome = await fixture.run(authKeyStep());

    const key = fixture.context.produced.authKey ?? '';
    expect(key).toMatch(/^IR@/);
    expect(redact(`key ${key}`)).toBe('key [redacted]');
    expect(containsSecret(JSON.stringify(outcome))).toBe(false);
    expect(JSON.stringify(fixture.journal.entries)).not.toContain(key);
    expect(fixture.progress.join('\n')).not.toContain(key);
  });
});

describe('stale-nodes step (emulator)', () => {
  const staleWorld = withRuntime('shir-doctor-ir', {
    nodes: [{ nodeName: 'shirvm', status: 'Offline' }, { nodeName: 'other', status: 'Online' }],
  });

  it('F14: removes the Offline node with our name when the plan lists it', async () => {
    fixture = await startHostFixture({ edit: staleWorld,
      decisions: { isRuntimeNew: false, staleNodes: ['shirvm'] } });

    const outcome = await fixture.run(staleNodesStep());
    const again = await fixture.run(staleNodesStep());

    expect(outcome).toEqual({ status: 'succeeded', summary: 'Removed stale node(s) shirvm' });
    expect(again).toEqual({ status: 'succeeded', summary: 'Stale node(s) shirvm already gone' });
    const view = await readRuntimeStatus(fixture.context.clients, fixture.context.target,
      'shir-doctor-ir');
    expect(view?.nodes.map((node) => node.nodeName)).toEqual(['other']);
    expect(fixture.journal.entries[0]).toMatchObject({ type: 'intent',
      change: { action: 'delete', kind: 'runtime-node', name: 'shir-doctor-ir/shirvm' } });
  });

  it('F14: without approval nothing is removed', async () => {
    fixture = await startHostFixture({ edit: staleWorld, decisions: { isRuntimeNew: false } });

    const outcome = await fixture.run(staleNodesStep());

    expect(outcome.status).toBe('skipped');
    const view = await readRuntimeStatus(fixture.context.clients, fixture.context.target,
      'shir-doctor-ir');
    expect(view?.nodes).toHaveLength(2);
  });
});

describe('runtime-update step (emulator)', () => {
  const oldWorld = withRuntime('shir-doctor-ir', {
    version: '5.12.7976.1', latestVersion: '5.44.8984.1', versionStatus: 'Expired',
    autoUpdate: 'Off',
    nodes: [{ nodeName: 'shirvm', status: 'Online', version: '5.12.7976.1' }],
  });
  const approved = { enableAutoUpdate: true, upgradeNodes: ['shirvm'],
    latestVersion: '5.44.8984.1' };

  it('F12: turns auto-update on and upgrades once, journaled; a rerun changes nothing',
    async () => {
      fixture = await startHostFixture({ edit: oldWorld,
        decisions: { isRuntimeNew: false, runtimeUpdate: approved } });

      const outcome = await fixture.run(runtimeUpdateStep());
      const again = await fixture.run(runtimeUpdateStep());

      expect(outcome).toEqual({ status: 'succeeded', summary: 'Turned auto-update on for ' +
        'shir-doctor-ir; upgraded node(s) shirvm to 5.44.8984.1' });
      expect(again.status).toBe('skipped');
      const view = await readRuntimeStatus(fixture.context.clients, fixture.context.target,
        'shir-doctor-ir');
      expect(view?.autoUpdate).toBe('On');
      expect(view?.nodes.map((node) => [node.version, node.versionStatus]))
        .toEqual([['5.44.8984.1', 'UpToDate']]);
      const intents = fixture.journal.entries.filter((entry) => entry.type === 'intent');
      expect(intents.map((entry) => entry.type === 'intent' && entry.change.resourceId))
        .toEqual([expect.stringMatching(/integrationRuntimes\/shir-doctor-ir$/),
          expect.stringMatching(/integrationRuntimes\/shir-doctor-ir\/upgrade$/)]);
    });

  it('F12: without approval nothing is changed', async () => {
    fixture = await startHostFixture({ edit: oldWorld, decisions: { isRuntimeNew: false } });

    const outcome = await fixture.run(runtimeUpdateStep());

    expect(outcome.status).toBe('skipped');
    const view = await readRuntimeStatus(fixture.context.clients, fixture.context.target,
      'shir-doctor-ir');
    expect(view?.autoUpdate).toBe('Off');
    expect(fixture.journal.entries).toEqual([]);
  });

  it('F12: a behind node that is not Online is not upgraded (the service would refuse)',
    async () => {
      fixture = await startHostFixture({
        edit: withRuntime('shir-doctor-ir', { latestVersion: '5.44.8984.1', autoUpdate: 'On',
          nodes: [{ nodeName: 'shirvm', status: 'Offline', version: '5.12.7976.1' }] }),
        decisions: { isRuntimeNew: false, runtimeUpdate: { ...approved,
          enableAutoUpdate: false } },
      });

      const outcome = await fixture.run(runtimeUpdateStep());

      expect(outcome).toEqual({ status: 'skipped',
        reason: 'not upgraded (not Online): shirvm (5.12.7976.1)' });
      expect(fixture.journal.entries).toEqual([]);
    });
});
