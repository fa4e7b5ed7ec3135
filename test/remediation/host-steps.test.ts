import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { TAGS } from '../../source/wire/guest.js';
import { vmStep } from '../../source/remediation/host.js';
import { networkStep } from '../../source/remediation/network.js';
import { probeStep } from '../../source/remediation/probe.js';
import { readRuntimeStatus } from '../../source/remediation/runtime.js';
import { type HostFixture, startHostFixture } from './host.fixture.js';

let fixture: HostFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** Every file under a folder, as text. */
function filesUnder(dir: string): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) Object.assign(texts, filesUnder(path));
    else texts[path] = readFileSync(path, 'utf8');
  }
  return texts;
}

function statusOf(run: { result: { steps: Array<{ id: string; status: string }> } }) {
  return Object.fromEntries(run.result.steps.map((step) => [step.id, step.status]));
}

describe('host graph on F01 (emulator)', () => {
  it('F01/F17: builds a VM with NAT egress, no inbound rule, and registers it', async () => {
    fixture = await startHostFixture();

    const run = await fixture.runGraph();

    expect(run.result.failed).toEqual([]);
    expect(run.result.isSuccess).toBe(true);
    const { network, compute } = fixture.context.clients;
    const rg = fixture.context.target.resourceGroup;
    const subnet = await network.subnets.get(rg, 'shirvm-vnet', 'shir');
    expect(subnet.defaultOutboundAccess).toBe(false);
    expect(subnet.natGateway?.id).toMatch(/natGateways\/shirvm-natgw$/);
    const ip = await network.publicIPAddresses.get(rg, 'shirvm-egress-ip');
    expect(ip.sku?.name).toBe('Standard');
    expect(ip.publicIPAllocationMethod).toBe('Static');
    const nsg = await network.networkSecurityGroups.get(rg, 'shirvm-nsg');
    const inboundAllows = (nsg.securityRules ?? [])
      .filter((rule) => rule.direction === 'Inbound' && rule.access === 'Allow');
    expect(inboundAllows).toEqual([]);
    const nic = await network.networkInterfaces.get(rg, 'shirvm-nic');
    expect(nic.ipConfigurations?.[0]?.publicIPAddress).toBeUndefined();
    const vm = await compute.virtualMachines.get(rg, 'shirvm');
    expect(vm.hardwareProfile?.vmSize).toBe('Standard_D4s_v5');
    expect(vm.tags?.[TAGS.createdBy]).toBe(TAGS.createdByValue);
    expect(vm.tags?.[TAGS.session]).toBe('host-session');

    const runtime = await readRuntimeStatus(fixture.context.clients, fixture.context.target,
      'shir-doctor-ir');
    expect(runtime?.nodes.find((node) => node.nodeName === 'shirvm')?.status).toBe('Online');
    expect(fixture.context.produced.isNodeOnline).toBe(true);
  });

  it('F13: the auth key and the VM password appear in no event and no journal file', async () => {
    fixture = await startHostFixture();

    const run = await fixture.runGraph();

    const key = fixture.context.produced.authKey ?? '';
    expect(key.length).toBeGreaterThan(20);
    const artefacts = { events: JSON.stringify(run.events), ...filesUnder(run.journalDir) };
    for (const [path, text] of Object.entries(artefacts)) {
      expect(text.includes(key), path).toBe(false);
      expect(/IR@[0-9a-f-]{36}@/i.test(text), path).toBe(false);
      expect(/adminPassword/i.test(text), path).toBe(false);
    }
    const guestView = JSON.stringify(fixture.sandbox.peek(
      `${fixture.context.produced.vmId}#guest`) ?? {});
    expect(guestView).not.toContain(key);
  });

  it('is idempotent: a second run finds everything in place and changes nothing', async () => {
    fixture = await startHostFixture();
    await fixture.runGraph('first');
    fixture.context.produced = {};

    const second = await fixture.runGraph('second');

    expect(second.result.failed).toEqual([]);
    expect(statusOf(second)).toMatchObject({ 'auth-key': 'skipped', install: 'skipped',
      online: 'succeeded' });
    const journal = readFileSync(join(second.journalDir, 'journal.jsonl'), 'utf8');
    const entries = journal.split('\n').filter((line) => line.trim())
      .map((line) => JSON.parse(line) as { type: string; change?: { kind?: string } });
    const kinds = entries.filter((entry) => entry.type === 'intent')
      .map((entry) => entry.change?.kind);
    expect(kinds.every((kind) => kind === 'run-command')).toBe(true);
  });
});

describe('network step (emulator)', () => {
  it('repairs a subnet whose NAT gateway was removed, keeping its address range', async () => {
    fixture = await startHostFixture();
    await fixture.run(networkStep());
    const { network } = fixture.context.clients;
    const rg = fixture.context.target.resourceGroup;
    const subnet = await network.subnets.get(rg, 'shirvm-vnet', 'shir');
    await network.subnets.beginCreateOrUpdateAndWait(rg, 'shirvm-vnet', 'shir',
      { ...subnet, natGateway: undefined }, { updateIntervalInMs: 0 });
    fixture.journal.entries.length = 0;

    const outcome = await fixture.run(networkStep());

    const repaired = await network.subnets.get(rg, 'shirvm-vnet', 'shir');
    expect(repaired.natGateway?.id).toMatch(/shirvm-natgw$/);
    expect(repaired.addressPrefix).toBe(subnet.addressPrefix);
    expect(outcome.status).toBe('succeeded');
    const intents = fixture.journal.entries.filter((entry) => entry.type === 'intent');
    expect(intents.map((entry) => entry.type === 'intent' && entry.change.action))
      .toEqual(['update']);
  });
});

describe('failures (emulator faults)', () => {
  it('a refused VM create fails the vm step with a journaled outcome, nothing after it', async () => {
    fixture = await startHostFixture({ scenario: { id: 'quota', extends: 'F01', faults: [{
      method: 'PUT', path: '/virtualMachines/shirvm$', status: 409, times: -1,
      code: 'OperationNotAllowed',
      message: 'Operation could not be completed as it results in exceeding approved ' +
        'standardDSv5Family Cores quota.',
    }] } });

    const run = await fixture.runGraph();

    expect(statusOf(run)).toMatchObject({ network: 'succeeded', vm: 'failed',
      probe: 'blocked', install: 'blocked', online: 'blocked', runtime: 'succeeded' });
    const error = run.result.steps.find((step) => step.id === 'vm')?.error;
    expect(error?.what).toMatch(/shirvm|virtual machine/);
    const lines = readFileSync(join(run.journalDir, 'journal.jsonl'), 'utf8').split('\n')
      .filter((line) => line.trim()).map((line) => JSON.parse(line));
    const intent = lines.find((entry) => entry.type === 'intent' &&
      entry.change.kind === 'virtual-machine');
    const outcome = lines.find((entry) => entry.type === 'outcome' && entry.id === intent?.id);
    expect(outcome?.result.isOk).toBe(false);
    expect(outcome?.result.error).toContain('quota');
  });
});

describe('vm step (emulator)', () => {
  it('will not adopt a VM it did not create when the plan said create', async () => {
    fixture = await startHostFixture({ scenario: 'F17', decisions: {
      host: { mode: 'create', vmName: 'vm-etl-01', egress: 'nat-gateway' },
      nodeName: 'vm-etl-01' } });

    await expect(fixture.run(vmStep())).rejects.toThrowError(/not created by shir-doctor/);
    expect(fixture.journal.entries).toEqual([]);
  });
});

describe('Run Command (emulator)', () => {
  it('clears a leftover run command of an interrupted session before running again', async () => {
    fixture = await startHostFixture();
    await fixture.runGraph();
    const { compute } = fixture.context.clients;
    const rg = fixture.context.target.resourceGroup;
    await compute.virtualMachineRunCommands.createOrUpdate(rg, 'shirvm', 'shir-doctor-probe', {
      location: fixture.sandbox.target.location,
      source: { script: 'Write-Output leftover' },
    }, { updateIntervalInMs: 0 });
    fixture.journal.entries.length = 0;

    const outcome = await fixture.run(probeStep());

    expect(outcome.status).toBe('succeeded');
    const actions = fixture.journal.entries.flatMap((entry) =>
      entry.type === 'intent' ? [`${entry.change.action} ${entry.change.name}`] : []);
    expect(actions).toEqual(['delete shirvm/shir-doctor-probe', 'create shirvm/shir-doctor-probe',
      'delete shirvm/shir-doctor-probe']);
    await expect(compute.virtualMachineRunCommands.getByVirtualMachine(rg, 'shirvm',
      'shir-doctor-probe')).rejects.toMatchObject({ statusCode: 404 });
  });
});
