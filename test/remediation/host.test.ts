import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { readScript, toRunParameters, toScriptRun } from '../../source/remediation/guest.js';

import {
  computerNameOf,
  generatePassword,
  infrastructureSteps,
  readinessProblem,
} from '../../source/remediation/host.js';
import { egressFacts, hasEgress, networkNames } from '../../source/remediation/network.js';
import { parseArmId, sandboxTuning } from '../../source/remediation/resources.js';
import { SCRIPT_MARKERS } from '../../source/wire/guest.js';
import { makeAuthKey } from '../helpers/secrets.js';

describe('infrastructureSteps', () => {
  it('has the nine steps with edges that let independent work run concurrently', () => {
    const edges = Object.fromEntries(
      infrastructureSteps().map((step) => [step.id, [...step.dependsOn].sort()]),
    );

    expect(edges).toEqual({
      network: [],
      vm: ['network'],
      runtime: [],
      'auth-key': ['runtime'],
      'stale-nodes': ['runtime'],
      probe: ['vm'],
      install: ['auth-key', 'probe', 'stale-nodes', 'vm'],
      online: ['install'],
      'runtime-update': ['online'],
    });
  });
});

describe('hasEgress', () => {
  it('F17: a private subnet with no NAT gateway and no NIC public IP has none', () => {
    const facts = egressFacts({ defaultOutboundAccess: false }, { ipConfigurations: [{}] });

    expect(hasEgress(facts)).toBe(false);
  });

  it('a NAT gateway, a NIC public IP or default outbound access each give egress', () => {
    const nat = egressFacts({ defaultOutboundAccess: false, natGateway: { id: '/x/nat' } });
    const pip = egressFacts({ defaultOutboundAccess: false },
      { ipConfigurations: [{ publicIPAddress: { id: '/x/pip' } }] });
    const legacy = egressFacts({});

    expect([nat, pip, legacy].map(hasEgress)).toEqual([true, true, true]);
  });
});

describe('generatePassword', () => {
  it('makes long passwords with all four character classes, different each time', () => {
    const passwords = Array.from({ length: 50 }, () => generatePassword());

    for (const password of passwords) {
      expect(password).toHaveLength(24);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).toMatch(/[^A-Za-z0-9]/);
    }
    expect(new Set(passwords).size).toBe(50);
  });
});

describe('names', () => {
  it('fits Windows computer names into 15 characters', () => {
    expect(computerNameOf('shir-doctor-vm-westeurope-01')).toBe('shir-doctor-vm');
    expect(computerNameOf('vm_1')).toBe('vm1');
  });

  it('derives network resource names from the VM name', () => {
    expect(networkNames('shirvm')).toMatchObject({
      virtualNetwork: 'shirvm-vnet',
      natGateway: 'shirvm-natgw',
      networkInterface: 'shirvm-nic',
    });
  });

  it('reads a subnet id into group, VNet and subnet', () => {
    const id = '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Network/' +
      'virtualNetworks/vnet1/subnets/default';

    expect(parseArmId(id)).toEqual({ subscriptionId: 's1', resourceGroup: 'rg1',
      name: 'default', parentName: 'vnet1' });
    expect(parseArmId('/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Network/' +
      'natGateways/nat1').parentName).toBeUndefined();
  });
});

describe('inspect-runtime.ps1', () => {
  it('starts with its marker and prints the runtime line the install step reads', async () => {
    const path = join(import.meta.dirname, '..', '..', 'scripts', 'inspect-runtime.ps1');
    const text = await readFile(path, 'utf8');

    expect(text.split('\n', 1)[0]).toBe(SCRIPT_MARKERS.inspect);
    expect(text).toContain('SHIR-DOCTOR runtime installed=$installed');
    expect(text).toContain('registeredTo=$registeredTo');
  });
});

describe('Run Command helpers', () => {
  it('leaves empty parameters out, so an absent proxy is not sent as ""', () => {
    expect(toRunParameters({ NodeName: 'shirvm', ProxyUrl: undefined, MsiUrl: '' }))
      .toEqual([{ name: 'NodeName', value: 'shirvm' }]);
  });

  it('reads each shipped script and refuses one without its marker', async () => {
    for (const kind of ['install', 'probe', 'inspect'] as const) {
      expect((await readScript(kind)).startsWith(SCRIPT_MARKERS[kind])).toBe(true);
    }
    const dir = mkdtempSync(join(tmpdir(), 'shir-scripts-'));
    writeFileSync(join(dir, 'probe-egress.ps1'), 'Write-Output hello\n');

    await expect(readScript('probe', dir)).rejects.toThrowError(/does not start with its marker/);
  });

  it('redacts the auth key out of Run Command output and parses the stage lines', () => {
    const key = makeAuthKey();
    const run = toScriptRun({ exitCode: 0, output: `echo ${key}\nSHIR-DOCTOR stage=done status=ok`,
      error: key });

    expect(run.output).not.toContain(key);
    expect(run.error).toBe('[redacted]');
    expect(run.records).toEqual([{ stage: 'done', status: 'ok' }]);
  });
});

describe('sandboxTuning', () => {
  it('shrinks the waits with the time scale but keeps a floor for the node deadline', () => {
    expect(sandboxTuning(0)).toEqual({ onlineDeadlineMs: 2_000, pollIntervalMs: 50,
      installRetryDelaysMs: [0, 0, 0] });
    expect(sandboxTuning(1)).toEqual({ onlineDeadlineMs: 30_000, pollIntervalMs: 500,
      installRetryDelaysMs: [1_000, 2_000, 4_000] });
  });
});

describe('readinessProblem', () => {
  const running = { code: 'PowerState/running' };
  const ready = { vmAgent: { statuses: [{ displayStatus: 'Ready' }] } };

  it('accepts a running VM with a Ready agent', () => {
    expect(readinessProblem('vm1', { statuses: [running], ...ready })).toBeUndefined();
  });

  it('says to start a deallocated VM', () => {
    const problem = readinessProblem('vm1', { statuses: [{ code: 'PowerState/deallocated' }],
      ...ready });

    expect(problem?.info.code).toBe('vm-not-running');
    expect(problem?.info.what).toContain('deallocated');
    expect(problem?.info.fix).toContain('az vm start --name vm1');
  });

  it('says to repair an agent that is not Ready', () => {
    const problem = readinessProblem('vm1', { statuses: [running],
      vmAgent: { statuses: [{ displayStatus: 'Not Ready' }] } });

    expect(problem?.info.code).toBe('vm-agent-not-ready');
  });
});
