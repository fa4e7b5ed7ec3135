import { describe, expect, it } from 'vitest';

import { planHasChanges, type PlanItem } from '../../source/engine/types.js';
import type {
  Inventory,
  LinkedServiceView,
  PipelineView,
  RuntimeView,
  VmView,
} from '../../source/remediation/context.js';
import { makePlan, testPipelineName } from '../../source/remediation/plan.js';

const target = { subscriptionId: 's', resourceGroup: 'rg', workspaceName: 'ws' };

function restService(overrides: Partial<LinkedServiceView> = {}): LinkedServiceView {
  return {
    name: 'RestService',
    type: 'RestService',
    connectVia: 'AutoResolveIntegrationRuntime',
    url: 'https://api.partner.example/v1',
    rawBody: '{}',
    maskedSecrets: ['/typeProperties/authHeaders/x-api-key'],
    classification: 'external-api',
    ...overrides,
  };
}

function storage(): LinkedServiceView {
  return { name: 'Lake', type: 'AzureBlobFS', url: 'https://acct.dfs.core.windows.net',
    rawBody: '{}', maskedSecrets: [], classification: 'azure-private-link' };
}

function pipeline(classification: PipelineView['classification']): PipelineView {
  return {
    name: 'CallPartnerApi',
    rawBody: '{}',
    classification,
    webActivities: [{ name: 'CallApi', url: 'https://api.partner.example/v1/health',
      pointer: '/activities/0', classification,
      connectVia: classification === 'on-shir' ? 'shir-doctor-ir' : undefined }],
  };
}

function shir(name: string, nodes: RuntimeView['nodes'], extra: Partial<RuntimeView> = {}) {
  const runtime: RuntimeView = { name, type: 'SelfHosted', state: 'Online', isShared: false,
    nodes, ...extra };
  return runtime;
}

function node(nodeName: string, status: string, machineName = nodeName) {
  return { nodeName, machineName, status, capabilities: {} };
}

function vm(name: string, extra: Partial<VmView> = {}): VmView {
  return { name, id: `/vm/${name}`, location: 'westeurope', osType: 'Windows',
    hasEgress: true, tags: {}, ...extra };
}

function inventory(overrides: Partial<Inventory> = {}): Inventory {
  return {
    workspace: { name: 'ws', id: '/ws', location: 'westeurope', isDepLocked: true,
      allowedAadTenantIdsForLinking: [] },
    runtimes: [{ name: 'AutoResolveIntegrationRuntime', type: 'Managed', isShared: false,
      nodes: [] }],
    linkedServices: [restService(), storage()],
    pipelines: [pipeline('external-api')],
    vms: [],
    ...overrides,
  };
}

function find(items: PlanItem[], kind: string, name?: string): PlanItem | undefined {
  return items.find((item) => item.kind === kind && (name === undefined || item.name === name));
}

describe('makePlan', () => {
  it('plans the whole repair for a fresh DEP workspace (F01, F02)', () => {
    const { decisions, plan } = makePlan(inventory(), target, { sessionId: 'abcdef123456' });

    expect(decisions.runtimeName).toBe('shir-doctor-ir');
    expect(decisions.isRuntimeNew).toBe(true);
    expect(decisions.host.mode).toBe('create');
    expect(decisions.nodeName).toBe(decisions.host.vmName);
    expect(decisions.linkedServicesToRewire).toEqual(['RestService']);
    expect(decisions.pipelinesToRewire).toEqual(['CallPartnerApi']);
    expect(decisions.apiUrl).toBe('https://api.partner.example/v1/health');

    expect(find(plan.items, 'integration-runtime')?.action).toBe('create');
    expect(find(plan.items, 'virtual-machine')?.action).toBe('create');
    expect(find(plan.items, 'nat-gateway')?.action).toBe('create');
    expect(find(plan.items, 'linked-service', 'RestService')?.detail)
      .toBe('connectVia: AutoResolveIntegrationRuntime -> shir-doctor-ir');
    expect(find(plan.items, 'linked-service', 'Lake')?.action).toBe('keep');
    expect(find(plan.items, 'linked-service', 'Lake')?.detail)
      .toContain('managed private endpoint');
    expect(find(plan.items, 'pipeline', 'CallPartnerApi')?.action).toBe('update');
    expect(find(plan.items, 'test-pipeline')?.name).toBe(testPipelineName('abcdef123456'));
    expect(testPipelineName('20261204-164321-1b69')).toBe('shir-doctor-e2e-43211b69');
  });

  it('produces no changes once the workspace is repaired', () => {
    const repaired = inventory({
      runtimes: [shir('shir-doctor-ir', [node('shir-doctor-vm', 'Online')])],
      linkedServices: [restService({ connectVia: 'shir-doctor-ir', classification: 'on-shir' }),
        storage()],
      pipelines: [pipeline('on-shir')],
      vms: [vm('shir-doctor-vm')],
    });

    const { decisions, plan } = makePlan(repaired, target);

    expect(planHasChanges(plan)).toBe(false);
    expect(decisions.host.mode).toBe('reuse-runtime');
    expect(find(plan.items, 'test-pipeline')).toBeUndefined();
  });

  it('reuses a healthy runtime whose node has egress: nothing to create', () => {
    const withShir = inventory({
      runtimes: [shir('team-shir', [node('node1', 'Online', 'hostvm')])],
      vms: [vm('hostvm')],
    });

    const { decisions, plan } = makePlan(withShir, target);

    expect(decisions.runtimeName).toBe('team-shir');
    expect(decisions.host).toEqual({ mode: 'reuse-runtime', vmName: 'hostvm' });
    expect(plan.items.filter((item) => item.action === 'create').map((i) => i.kind))
      .toEqual(['test-pipeline']);
    expect(find(plan.items, 'linked-service', 'RestService')?.detail).toContain('-> team-shir');
  });

  it('honours --vm-name over a healthy runtime elsewhere', () => {
    const withShir = inventory({
      runtimes: [shir('team-shir', [node('node1', 'Online', 'hostvm')])],
      vms: [vm('hostvm'), vm('myvm')],
    });

    const { decisions } = makePlan(withShir, { ...target, vmName: 'myvm' });

    expect(decisions.host.vmName).toBe('myvm');
    expect(decisions.runtimeName).toBe('shir-doctor-ir');
  });

  it('never reuses a shared runtime and says why (F05)', () => {
    const shared = inventory({
      runtimes: [shir('shared-ir', [node('n', 'Online', 'hostvm')], { isShared: true })],
      vms: [vm('hostvm')],
    });

    const { decisions, plan } = makePlan(shared, target);

    expect(decisions.runtimeName).toBe('shir-doctor-ir');
    expect(find(plan.items, 'integration-runtime', 'shared-ir')?.detail).toContain('shared');
  });

  it('adds no fifth node to a full runtime (F15)', () => {
    const full = inventory({
      runtimes: [shir('shir-doctor-ir', ['a', 'b', 'c', 'd'].map((n) => node(n, 'Offline')))],
    });

    const { decisions, plan } = makePlan(full, target);

    expect(decisions.runtimeName).toBe('shir-doctor-ir-2');
    expect(decisions.isRuntimeNew).toBe(true);
    expect(find(plan.items, 'integration-runtime', 'shir-doctor-ir')?.action).toBe('keep');
    expect(find(plan.items, 'integration-runtime', 'shir-doctor-ir-2')?.action).toBe('create');
  });

  it('removes a stale Offline node with our node name, with approval (F14)', () => {
    const rebuilt = inventory({
      runtimes: [shir('shir-doctor-ir', [node('shir-doctor-vm', 'Offline')],
        { state: 'Offline' })],
      vms: [vm('shir-doctor-vm', { tags: { 'created-by': 'shir-doctor' } })],
    });

    const { decisions, plan } = makePlan(rebuilt, target);

    expect(decisions.host.mode).toBe('reuse-vm');
    expect(decisions.staleNodes).toEqual(['shir-doctor-vm']);
    const removal = find(plan.items, 'runtime-node');
    expect(removal?.action).toBe('delete');
    expect(removal?.detail).toContain('approval');
  });

  it('never removes a live node, even one that is Limited (F07)', () => {
    const limited = inventory({
      runtimes: [shir('shir-doctor-ir', [{ ...node('shir-doctor-vm', 'Limited'),
        capabilities: { serviceBusConnected: 'False' } }], { state: 'Limited' })],
      vms: [vm('shir-doctor-vm', { tags: { 'created-by': 'shir-doctor' } })],
    });

    const { decisions, plan } = makePlan(limited, target);

    expect(decisions.staleNodes).toEqual([]);
    expect(find(plan.items, 'runtime-node')).toBeUndefined();
    expect(decisions.host).toEqual({ mode: 'reuse-vm', vmName: 'shir-doctor-vm',
      egress: undefined });
  });

  it('uses --vm-name and adds egress when its subnet has none (F17)', () => {
    const withVm = inventory({ vms: [vm('myvm', { hasEgress: false })] });

    const { decisions, plan } = makePlan(withVm, { ...target, vmName: 'myvm' });

    expect(decisions.host).toEqual({ mode: 'reuse-vm', vmName: 'myvm', egress: 'nat-gateway' });
    expect(find(plan.items, 'nat-gateway')?.action).toBe('create');
    expect(find(plan.items, 'virtual-network')).toBeUndefined();
  });

  it('does not put a second runtime on a VM that hosts another one (F06)', () => {
    const busy = inventory({
      runtimes: [shir('other-ir', [node('busyvm', 'Online')], { isShared: true })],
      vms: [vm('busyvm')],
    });

    const { decisions, plan } = makePlan(busy, { ...target, vmName: 'busyvm' });

    expect(decisions.host.mode).toBe('create');
    expect(decisions.host.vmName).not.toBe('busyvm');
    expect(find(plan.items, 'virtual-machine', 'busyvm')?.detail).toContain('other-ir');
  });

  it('repairs an existing runtime in place on its rebuilt VM (F14)', () => {
    const rebuilt = inventory({
      runtimes: [shir('shir-etl', [node('vm-shir-01', 'Offline', 'VM-SHIR-01')],
        { state: 'Offline' })],
      vms: [vm('vm-shir-01')],
    });

    const { decisions, plan } = makePlan(rebuilt, target);

    expect(decisions.runtimeName).toBe('shir-etl');
    expect(decisions.isRuntimeNew).toBe(false);
    expect(decisions.host.mode).toBe('reuse-vm');
    expect(decisions.nodeName).toBe('vm-shir-01');
    expect(decisions.staleNodes).toEqual(['vm-shir-01']);
    expect(plan.items.filter((i) => i.action === 'create').map((i) => i.kind))
      .toEqual(['run-command', 'test-pipeline']);
  });

  it('does not count a node with a False capability as healthy (F07)', () => {
    const limited = inventory({
      runtimes: [shir('shir-etl', [{ ...node('vm-shir-01', 'Online'),
        capabilities: { serviceBusConnected: 'False' } }])],
      vms: [vm('vm-shir-01')],
    });

    const { decisions } = makePlan(limited, target);

    expect(decisions.host).toEqual({ mode: 'reuse-vm', vmName: 'vm-shir-01',
      egress: undefined });
    expect(decisions.staleNodes).toEqual([]);
  });

  it('never adopts an untagged VM that happens to carry our default name', () => {
    const namesake = inventory({ vms: [vm('shir-doctor-vm')] });

    const { decisions } = makePlan(namesake, target);

    expect(decisions.host).toEqual({ mode: 'create', vmName: 'shir-doctor-vm-2',
      egress: 'nat-gateway' });
  });

  it('fails for a --vm-name that does not exist', () => {
    expect(() => makePlan(inventory(), { ...target, vmName: 'nope' })).toThrow(/No VM named nope/);
  });

  it('plans auto-update on and an upgrade for an old node version (F12)', () => {
    const old = inventory({
      runtimes: [shir('shir-doctor-ir', [{ ...node('n1', 'Online', 'hostvm'), version: '5.0.0',
        versionStatus: 'Expired' }], { autoUpdate: 'Off', latestVersion: '5.40.0' })],
      vms: [vm('hostvm')],
    });

    const { plan, decisions } = makePlan(old, target);

    const offer = plan.items.find((item) => item.action === 'update' &&
      item.kind === 'integration-runtime');
    expect(offer?.detail).toBe('autoUpdate: Off -> On; upgrade node n1 5.0.0 -> 5.40.0');
    expect(offer?.evidence).toContain('autoUpdate = Off');
    expect(decisions.runtimeUpdate).toEqual({ enableAutoUpdate: true, upgradeNodes: ['n1'],
      latestVersion: '5.40.0' });
  });

  it('plans no runtime update when auto-update is on and the nodes are current', () => {
    const current = inventory({
      runtimes: [shir('shir-doctor-ir', [{ ...node('n1', 'Online', 'hostvm'),
        version: '5.40.0' }], { autoUpdate: 'On', latestVersion: '5.40.0' })],
      vms: [vm('hostvm')],
    });

    const { plan, decisions } = makePlan(current, target);

    expect(plan.items.filter((item) => item.kind === 'integration-runtime')
      .map((item) => item.action)).not.toContain('update');
    expect(decisions.runtimeUpdate).toBeUndefined();
  });
});
