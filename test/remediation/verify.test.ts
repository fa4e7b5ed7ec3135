import { describe, expect, it } from 'vitest';

import type { Inventory, RuntimeView } from '../../source/remediation/context.js';
import {
  connectionsCheck,
  nodeCheck,
  runtimeCheck,
  verifyApiUrl,
  versionCheck,
} from '../../source/remediation/verify.js';

function runtime(overrides: Partial<RuntimeView> = {}): RuntimeView {
  return {
    name: 'shir-doctor-ir', type: 'SelfHosted', state: 'Online', isShared: false,
    autoUpdate: 'On', latestVersion: '5.44.8984.1',
    nodes: [{ nodeName: 'vm1', status: 'Online', version: '5.44.8984.1',
      capabilities: { serviceBusConnected: 'True', connectedToResourceManager: 'True' } }],
    ...overrides,
  };
}

function inventory(overrides: Partial<Inventory> = {}): Inventory {
  return {
    workspace: { name: 'ws', id: '/ws', location: 'x', isDepLocked: true,
      allowedAadTenantIdsForLinking: [] },
    runtimes: [runtime()],
    linkedServices: [{ name: 'RestService', type: 'RestService', connectVia: 'shir-doctor-ir',
      url: 'https://api.partner.example/v1', rawBody: '{}', maskedSecrets: [],
      classification: 'on-shir' }],
    pipelines: [{ name: 'CallPartnerApi', rawBody: '{}', classification: 'on-shir',
      webActivities: [{ name: 'Get', url: 'https://api.partner.example/v1/health',
        connectVia: 'shir-doctor-ir', classification: 'on-shir' }] }],
    vms: [],
    ...overrides,
  };
}

describe('verify checks', () => {
  it('passes a healthy runtime and fails a missing or offline one', () => {
    expect(runtimeCheck('shir-doctor-ir', runtime()).isPassing).toBe(true);
    expect(runtimeCheck('shir-doctor-ir', undefined).detail).toContain('does not exist');
    expect(runtimeCheck('shir-doctor-ir', runtime({ state: 'Offline' })).isPassing).toBe(false);
  });

  it('fails node health when the relay is blocked, naming servicebus (F07)', () => {
    const limited = runtime({ state: 'Limited', nodes: [{ nodeName: 'vm1', status: 'Limited',
      capabilities: { serviceBusConnected: 'False' } }] });

    const check = nodeCheck(limited);

    expect(check.isPassing).toBe(false);
    expect(check.detail).toContain('servicebus.windows.net');
  });

  it('fails an expired runtime version with auto-update off (F12)', () => {
    const old = runtime({ autoUpdate: 'Off', latestVersion: '5.50.1.1', nodes: [{
      nodeName: 'vm1', status: 'Online', version: '4.0.1.1', versionStatus: 'Expired',
      capabilities: {} }] });

    const check = versionCheck(old);

    expect(check.isPassing).toBe(false);
    expect(check.detail).toContain('expired');
    expect(check.detail).toContain('Auto-update is off');
    expect(versionCheck(runtime()).isPassing).toBe(true);
  });

  it('lists connections still on the managed runtime', () => {
    const pending = inventory({ linkedServices: [{ name: 'Orders', type: 'RestService',
      url: 'https://api.x.example', rawBody: '{}', maskedSecrets: [],
      classification: 'external-api' }] });

    expect(connectionsCheck(inventory(), 'shir-doctor-ir').isPassing).toBe(true);
    const check = connectionsCheck(pending, 'shir-doctor-ir');
    expect(check.isPassing).toBe(false);
    expect(check.detail).toContain('linked service Orders');
  });

  it('calls the Web activity URL on the runtime unless --api-url says otherwise', () => {
    expect(verifyApiUrl(inventory(), 'shir-doctor-ir'))
      .toBe('https://api.partner.example/v1/health');
    expect(verifyApiUrl(inventory(), 'shir-doctor-ir', 'https://other.example/ping'))
      .toBe('https://other.example/ping');
  });
});
