/**
 * Field scenarios decided in detect and plan: F02 (Web activities with no connectVia), F03 (not
 * DEP-locked), F04 (a tenant outside allowedAadTenantIdsForLinking), F05 (a shared runtime),
 * F08 (an unreachable dev endpoint) and F12 (an expired node with auto-update off, repaired).
 */
import { afterEach, describe, expect, it } from 'vitest';

import {
  armId,
  eventText,
  filesUnder,
  findings,
  planItems,
  run,
  runtimeState,
  startedSteps,
  startScenario,
  stored,
  variant,
  writes,
  type ScenarioBox,
} from './harness.js';

let box: ScenarioBox | undefined;

afterEach(async () => {
  await box?.cleanup();
  box = undefined;
});

function workspaceId(scenario: ScenarioBox): string {
  return armId(scenario, 'Microsoft.Synapse/workspaces', scenario.target.workspaceName);
}

describe('F02: Web activities that call the API with no connectVia', () => {
  it('lists each as affected, rewires the activity, backs it up and rolls it back exactly',
    async () => {
      box = await startScenario('F02');
      const original = stored(box, 'pipelines', 'PostPartnerOrders');

      const fixed = await run(box, 'fix');

      expect(fixed.summary.error).toBeUndefined();
      expect(fixed.exitCode).toBe(0);
      const affected = findings(fixed.ui).filter((item) => item.id === 'pipeline.external-api');
      expect(affected.map((item) => item.subject ?? item.title).join(' '))
        .toContain('PostPartnerOrders');
      const item = planItems(fixed.ui).find((entry) => entry.name === 'PostPartnerOrders');
      expect(item).toMatchObject({ action: 'update', kind: 'pipeline' });
      expect(item?.detail).toContain('PostOrders connectVia');
      const after = stored(box, 'pipelines', 'PostPartnerOrders');
      const activity = after.activities[0];
      expect(activity.typeProperties.connectVia).toEqual({ referenceName: 'shir-doctor-ir',
        type: 'IntegrationRuntimeReference' });
      const { connectVia: _added, ...kept } = activity.typeProperties;
      expect(JSON.stringify(kept)).toBe(JSON.stringify(original.activities[0].typeProperties));
      expect(fixed.ui.events.some((event) => event.type === 'step.succeeded' &&
        event.stepId === 'backup' && event.summary.includes('PostPartnerOrders'))).toBe(true);

      const rolledBack = await run(box, 'rollback');

      expect(rolledBack.summary.error).toBeUndefined();
      expect(rolledBack.exitCode).toBe(0);
      expect(JSON.stringify(stored(box, 'pipelines', 'PostPartnerOrders')))
        .toBe(JSON.stringify(original));
    });
});

describe('F02 with Web activities nested in ForEach, If, Switch and Until', () => {
  const call = (name: string) => ({ name, type: 'WebActivity', dependsOn: [],
    userProperties: [], typeProperties: { url: 'https://api.partner.example/v1/health',
      method: 'GET' } });
  const container = (name: string, type: string, typeProperties: object) => ({ name, type,
    dependsOn: [], userProperties: [], typeProperties });
  const expression = (value: string) => ({ value, type: 'Expression' });
  const activities = [
    container('EachPartner', 'ForEach', { items: expression('@createArray(1,2)'),
      activities: [call('InLoop')] }),
    container('IfOk', 'IfCondition', { expression: expression('@true'),
      ifTrueActivities: [call('IfTrue')], ifFalseActivities: [] }),
    container('ByRegion', 'Switch', { on: expression('eu'),
      cases: [{ value: 'eu', activities: [call('InCase')] }], defaultActivities: [] }),
    container('UntilDone', 'Until', { expression: expression('@true'),
      activities: [call('InUntil')] }),
  ];

  it('finds and rewires every nested call, leaving the containers as they were', async () => {
    box = await startScenario(variant('F02', { workspaces: { '{workspaceName}': {
      pipelines: [{ name: 'LoopPartners', properties: { activities } }] } } }));

    const fixed = await run(box, 'fix');

    expect(fixed.summary.error).toBeUndefined();
    expect(fixed.exitCode).toBe(0);
    const item = planItems(fixed.ui).find((entry) => entry.name === 'LoopPartners');
    for (const name of ['InLoop', 'IfTrue', 'InCase', 'InUntil']) {
      expect(item?.detail).toContain(`${name} connectVia`);
    }
    const text = JSON.stringify(stored(box, 'pipelines', 'LoopPartners'));
    expect(text.split('"connectVia":{"referenceName":"shir-doctor-ir"').length - 1).toBe(4);
    const withoutConnectVia = JSON.parse(text.replace(
      /,"connectVia":\{"referenceName":"shir-doctor-ir","type":"IntegrationRuntimeReference"\}/g,
      ''));
    expect(withoutConnectVia).toEqual({ activities });
  });
});

describe('F03: a template workspace whose name suggests a managed VNet', () => {
  it('says plainly it is not DEP-locked, the block lies elsewhere, and changes nothing',
    async () => {
      box = await startScenario('F03');

      const result = await run(box, 'fix');

      expect(result.exitCode).toBe(4);
      expect(result.summary.outcome).toBe('not-applicable');
      expect(result.summary.headline).toMatch(/is not DEP-locked/);
      expect(result.summary.headline).toMatch(/block lies elsewhere/);
      expect(result.summary.headline).toMatch(/changes nothing/);
      expect(writes(box)).toEqual([]);
      expect(startedSteps(result.ui)).toEqual([]);
      expect(result.summary.changes).toEqual({ created: [], updated: [], deleted: [] });
      expect(findings(result.ui).map((item) => item.id)).toContain('workspace.not-dep-locked');
    });

  it('plan says the same and changes nothing either', async () => {
    box = await startScenario('F03');

    const result = await run(box, 'plan');

    expect(result.summary.outcome).toBe('not-applicable');
    expect(writes(box)).toEqual([]);
  });
});

describe('F04: DEP blocks a tenant not in allowedAadTenantIdsForLinking', () => {
  it('explains the list cannot change, routes through the SHIR, never suggests dropping DEP',
    async () => {
      box = await startScenario('F04');

      const result = await run(box, 'fix');

      expect(result.summary.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      const finding = findings(result.ui).find((item) => item.id === 'linked-service.cross-tenant');
      expect(finding?.title).toContain('PartnerDataLake');
      expect(finding?.title).toMatch(/cannot be changed/);
      expect(finding?.title).toMatch(/self-hosted runtime is the route/);
      expect(stored(box, 'linkedservices', 'PartnerDataLake').connectVia.referenceName)
        .toBe('shir-doctor-ir');
      const reports = Object.values(filesUnder(box.doctorDir)).join('\n');
      expect(reports).toContain('cannot be changed');
      const text = eventText(result.ui) + reports;
      const dropDep = /(disabl|turn\w* off|switch\w* off)\w*[^."]{0,40}(DEP|exfiltration)/i;
      expect(text).not.toMatch(dropDep);
      expect(text).not.toMatch(/preventDataExfiltration\W{0,6}false/i);
      expect(writes(box).filter((request) => request.path === workspaceId(box!))).toEqual([]);
    });
});

describe('F05: an existing SelfHosted runtime carrying linkedInfo', () => {
  it('refuses to reuse the shared runtime, says why, and repairs with its own', async () => {
    box = await startScenario('F05');

    const result = await run(box, 'fix');

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const finding = findings(result.ui).find((item) => item.id === 'runtime.shared');
    expect(finding?.title).toContain('shir-shared-adf');
    expect(finding?.title).toMatch(/will not reuse/);
    expect(finding?.title).toMatch(/Synapse does not support shared/);
    const kept = planItems(result.ui).find((item) => item.name === 'shir-shared-adf');
    expect(kept?.action).toBe('keep');
    expect(kept?.detail).toMatch(/not reused/);
    expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
      .toBe('shir-doctor-ir');
    expect(eventText(result.ui)).not.toMatch(/connectVia[^"]*-> shir-shared-adf/);
    const touched = [...writes(box), ...box.requests()]
      .filter((request) => /\/integrationRuntimes\/shir-shared-adf\b/i.test(request.path))
      .filter((request) => request.method !== 'GET' && !request.path.endsWith('/getStatus'));
    expect(touched).toEqual([]);
  });
  it('moves a linked service already pointed at the shared runtime to its own', async () => {
    box = await startScenario(variant('F05', { workspaces: { '{workspaceName}': {
      linkedServices: [{ name: 'RestService', properties: { connectVia: {
        referenceName: 'shir-shared-adf', type: 'IntegrationRuntimeReference' } } }] } } }));

    const result = await run(box, 'fix');

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const item = planItems(result.ui).find((entry) => entry.name === 'RestService');
    expect(item?.detail).toBe('connectVia: shir-shared-adf -> shir-doctor-ir');
    expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
      .toBe('shir-doctor-ir');
  });
});

describe('F08: publicNetworkAccess Disabled, the dev endpoint unreachable', () => {
  it('fails early about private endpoints and DNS, before changing anything', async () => {
    box = await startScenario('F08');

    const result = await run(box, 'fix');

    expect(result.exitCode).toBe(4);
    expect(result.summary.outcome).toBe('failed');
    const error = result.summary.error;
    expect(error?.code).toBe('dev-endpoint-unreachable');
    expect(error?.what).toMatch(/dev endpoint .* cannot be reached/);
    expect(error?.what).toMatch(/nothing was changed/);
    expect(error?.why).toContain('publicNetworkAccess');
    expect(error?.fix).toMatch(/private endpoint/);
    expect(error?.fix).toMatch(/DNS/);
    expect(writes(box)).toEqual([]);
    expect(startedSteps(result.ui)).toEqual([]);
    expect(result.ui.events.some((event) => event.type === 'plan.ready')).toBe(false);
  });
});

describe('F12: a node far behind, version expired, auto-update off', () => {
  it('flags it in detect, turns auto-update on and upgrades in the fix, and verify passes',
    async () => {
      box = await startScenario('F12');

      const fixed = await run(box, 'fix');

      const ids = findings(fixed.ui).map((item) => item.id);
      expect(ids).toEqual(expect.arrayContaining(['runtime.node-version-expired',
        'runtime.node-version-behind', 'runtime.auto-update-off']));
      const behind = findings(fixed.ui).find((item) => item.id === 'runtime.node-version-behind');
      expect(behind?.title).toContain('5.12.7976.1');
      expect(behind?.title).toContain('5.44.8984.1');
      const update = planItems(fixed.ui).find((item) =>
        item.kind === 'integration-runtime' && item.action === 'update');
      expect(update?.name).toBe('shir-etl');
      expect(update?.detail).toBe(
        'autoUpdate: Off -> On; upgrade node vm-shir-01 5.12.7976.1 -> 5.44.8984.1');
      expect(fixed.exitCode).toBe(0);
      expect(startedSteps(fixed.ui)).toContain('runtime-update');
      // The upgrade restarts the node, so the API is proven on the runtime as it will stay.
      const updated = fixed.ui.events.findIndex((event) =>
        event.type === 'step.succeeded' && event.stepId === 'runtime-update');
      const proving = fixed.ui.events.findIndex((event) =>
        event.type === 'step.started' && event.stepId === 'prove');
      expect(updated).toBeGreaterThan(-1);
      expect(proving).toBeGreaterThan(updated);
      const runtimePath = armId(box, 'Microsoft.Synapse/workspaces',
        `${box.target.workspaceName}/integrationruntimes/shir-etl`).toLowerCase();
      const changes = writes(box).filter((request) =>
        request.path.toLowerCase().startsWith(runtimePath))
        .map((request) => `${request.method} ${request.path.slice(runtimePath.length)}`);
      expect(changes).toEqual(['PATCH ', 'POST /upgrade']);
      const state = runtimeState(box, 'shir-etl');
      expect(state.autoUpdate).toBe('On');
      expect(state.nodes.map((node: { version: string }) => node.version))
        .toEqual(['5.44.8984.1']);

      const verified = await run(box, 'verify');

      expect(verified.exitCode).toBe(0);
      const check = verified.ui.events.find((event) => event.type === 'check' &&
        /version/i.test(event.name));
      expect(check?.type === 'check' && check.isPassing).toBe(true);
      expect(check?.type === 'check' && check.detail).toMatch(/auto-update On/);
    });
});
