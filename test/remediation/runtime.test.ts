import { describe, expect, it } from 'vitest';

import type { NodeView, RuntimeView } from '../../source/remediation/context.js';
import {
  checkReusable,
  compareVersions,
  diagnoseNode,
  findNode,
  toStatusView,
} from '../../source/remediation/runtime.js';

function node(overrides: Partial<NodeView> = {}): NodeView {
  return {
    nodeName: 'shir-vm',
    status: 'Online',
    version: '5.50.9171.1',
    versionStatus: 'UpToDate',
    capabilities: {
      serviceBusConnected: 'True',
      connectedToResourceManager: 'True',
      credentialInSync: 'True',
      httpsPortEnabled: 'True',
      nodeEnabled: 'True',
    },
    ...overrides,
  };
}

function runtime(overrides: Partial<RuntimeView> = {}): RuntimeView {
  return {
    name: 'shir-doctor-ir',
    type: 'SelfHosted',
    state: 'Online',
    isShared: false,
    nodes: [node()],
    autoUpdate: 'On',
    latestVersion: '5.50.9171.1',
    ...overrides,
  };
}

const ids = (findings: Array<{ id: string }>): string[] => findings.map((item) => item.id);

describe('diagnoseNode', () => {
  it('finds nothing wrong with a healthy, current node', () => {
    expect(diagnoseNode(node(), runtime())).toEqual([]);
  });

  it('F07: serviceBusConnected False names blocked egress to *.servicebus.windows.net', () => {
    const limited = node({
      status: 'Limited',
      capabilities: { ...node().capabilities, serviceBusConnected: 'False' },
    });

    const findings = diagnoseNode(limited, runtime({ state: 'Limited' }));

    const blocked = findings.find((item) => item.id === 'runtime.node-service-bus-blocked');
    expect(blocked?.severity).toBe('problem');
    expect(blocked?.title).toContain('*.servicebus.windows.net');
    expect(blocked?.evidence).toContain('capabilities.serviceBusConnected = False');
    expect(ids(findings)).toContain('runtime.node-limited');
  });

  it('F12: a version far behind, expired, with auto-update off, is flagged three ways', () => {
    const old = node({ version: '4.15.7611.1', versionStatus: 'Expired' });
    const view = runtime({ autoUpdate: 'Off', latestVersion: '5.50.9171.1' });

    const findings = diagnoseNode(old, view);

    expect(ids(findings)).toEqual([
      'runtime.node-version-expired',
      'runtime.node-version-behind',
      'runtime.auto-update-off',
    ]);
    const behind = findings.find((item) => item.id === 'runtime.node-version-behind');
    expect(behind?.severity).toBe('problem');
    expect(behind?.evidence).toEqual(['version = 4.15.7611.1', 'latestVersion = 5.50.9171.1']);
  });

  it('a minor version behind is a warning, and auto-update on is not flagged', () => {
    const findings = diagnoseNode(node({ version: '5.44.8984.1' }), runtime());

    expect(ids(findings)).toEqual(['runtime.node-version-behind']);
    expect(findings[0]?.severity).toBe('warning');
  });

  it('reports NeedRegistration and Offline nodes as problems', () => {
    expect(ids(diagnoseNode(node({ status: 'NeedRegistration' }))))
      .toEqual(['runtime.node-need-registration']);
    expect(ids(diagnoseNode(node({ status: 'Offline' })))).toEqual(['runtime.node-offline']);
  });
});

describe('compareVersions', () => {
  it('compares dotted versions numerically, not as text', () => {
    expect(compareVersions('5.9.0.0', '5.10.0.0')).toBe(-1);
    expect(compareVersions('5.10.0.0', '5.9.0.0')).toBe(1);
    expect(compareVersions('5.10', '5.10.0.0')).toBe(0);
  });
});

describe('checkReusable', () => {
  it('F05: refuses a runtime that carries linkedInfo and says why', () => {
    const shared = runtime({ isShared: true });

    expect(() => checkReusable(shared, 'shir-vm')).toThrowError(/shared \(linked\) runtime/);
    try {
      checkReusable(shared, 'shir-vm');
    } catch (error) {
      const info = (error as { info: { why: string; fix: string; code: string } }).info;
      expect(info.code).toBe('runtime-shared');
      expect(info.why).toContain('linkedInfo');
      expect(info.fix).toContain('new self-hosted runtime');
    }
  });

  it('F15: refuses a fifth node on a runtime that has four', () => {
    const full = runtime({
      nodes: ['a', 'b', 'c', 'd'].map((name) => node({ nodeName: name })),
    });

    expect(() => checkReusable(full, 'shir-vm')).toThrowError(/already has 4 nodes/);
    expect(() => checkReusable(full, 'c')).not.toThrow();
  });

  it('refuses a managed runtime of the same name', () => {
    expect(() => checkReusable(runtime({ type: 'Managed' }), 'x')).toThrowError(/not self-hosted/);
  });
});

describe('toStatusView', () => {
  it('reads nodes, versions and service URLs from the SDK status object', () => {
    const view = toStatusView({
      type: 'SelfHosted',
      state: 'Online',
      autoUpdate: 'Off',
      latestVersion: '5.50.9171.1',
      serviceUrls: ['wu.frontend.clouddatahub.net', '*.servicebus.windows.net'],
      nodes: [{ nodeName: 'Node_1', status: 'Online', version: '5.50.9171.1',
        capabilities: { serviceBusConnected: 'True' } }],
    });

    expect(view.state).toBe('Online');
    expect(view.autoUpdate).toBe('Off');
    expect(view.serviceUrls).toEqual(['wu.frontend.clouddatahub.net', '*.servicebus.windows.net']);
    expect(view.nodes?.[0]).toMatchObject({ nodeName: 'Node_1', status: 'Online',
      capabilities: { serviceBusConnected: 'True' } });
  });

  it('finds a node by name regardless of case', () => {
    expect(findNode(runtime(), 'SHIR-VM')?.nodeName).toBe('shir-vm');
    expect(findNode(undefined, 'shir-vm')).toBeUndefined();
  });
});
