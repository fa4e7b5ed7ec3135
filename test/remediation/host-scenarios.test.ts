import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { installStep } from '../../source/remediation/install.js';
import { SERVICE_BUS_PROBE_HOST } from '../../source/remediation/probe.js';
import { readRuntimeStatus } from '../../source/remediation/runtime.js';
import { type GraphRun, type HostFixture, startHostFixture } from './host.fixture.js';

let fixture: HostFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

function statusOf(run: GraphRun): Record<string, string> {
  return Object.fromEntries(run.result.steps.map((step) => [step.id, step.status]));
}

function errorOf(run: GraphRun, stepId: string) {
  return run.result.steps.find((step) => step.id === stepId)?.error;
}

async function nodeStatus(nodeName: string, runtimeName = 'shir-doctor-ir') {
  const context = fixture!.context;
  const runtime = await readRuntimeStatus(context.clients, context.target, runtimeName);
  return runtime?.nodes.find((node) => node.nodeName === nodeName)?.status;
}

describe('F09: old image without TLS 1.2 by default', () => {
  it('installs because the script forces TLS 1.2', async () => {
    fixture = await startHostFixture({ scenario: 'F09' });

    const run = await fixture.runGraph();

    expect(run.result.failed).toEqual([]);
    expect(await nodeStatus('shirvm')).toBe('Online');
  });

  it('a script that does not force TLS 1.2 fails the download and says TLS', async () => {
    const scripts = mkdtempSync(join(tmpdir(), 'shir-scripts-'));
    cpSync(join(import.meta.dirname, '..', '..', 'scripts'), scripts, { recursive: true });
    const path = join(scripts, 'install-shir.ps1');
    writeFileSync(path, readFileSync(path, 'utf8').split('\n')
      .filter((line) => !line.includes('Tls12')).join('\n'));
    fixture = await startHostFixture({ scenario: 'F09' });
    fixture.context.tuning = { ...fixture.context.tuning, scriptsDir: scripts };

    const run = await fixture.runGraph();

    const error = errorOf(run, 'install');
    expect(error?.code).toBe('install-download-failed');
    expect(error?.why).toContain('reason=tls');
  });
});

describe('F10: msiexec 1618', () => {
  it('retries with backoff and succeeds', async () => {
    fixture = await startHostFixture({ scenario: 'F10' });

    const run = await fixture.runGraph();

    expect(run.result.failed).toEqual([]);
    const progress = run.events.filter((event) => event.type === 'step.progress')
      .map((event) => (event as { message: string }).message);
    expect(progress.some((line) => line.includes('MSI 1618'))).toBe(true);
    expect(progress.some((line) => line.includes('attempt 2'))).toBe(true);
  });

  it('stops after the retries, naming 1618 and its meaning', async () => {
    fixture = await startHostFixture({ scenario: { id: 'F10x', extends: 'F10',
      newVmGuest: { image: 'current', msiBusyTimes: 9 } } });

    const run = await fixture.runGraph();

    const error = errorOf(run, 'install');
    expect(error?.code).toBe('msi-1618');
    expect(error?.what).toContain('another installation is already in progress');
    expect(error?.what).toContain('after 4 attempts');
    expect(statusOf(run).online).not.toBe('succeeded');
  });
});

describe('F11: the script exits 0 but the node never registers', () => {
  it('waits for Online until the deadline, then reports state and script output', async () => {
    fixture = await startHostFixture({ scenario: 'F11' });
    fixture.context.tuning = { ...fixture.context.tuning, onlineDeadlineMs: 300 };

    const run = await fixture.runGraph();

    expect(statusOf(run)).toMatchObject({ install: 'succeeded', online: 'failed' });
    const error = errorOf(run, 'online');
    expect(error?.code).toBe('node-not-online');
    expect(error?.what).toContain('node shirvm is not listed');
    expect(error?.why).toContain('stage=done status=ok');
    expect(fixture.context.produced.isNodeOnline).toBeUndefined();
  });

  it('a rerun adds no second registration on the VM; it says how to start over', async () => {
    fixture = await startHostFixture({ scenario: 'F11' });
    fixture.context.tuning = { ...fixture.context.tuning, onlineDeadlineMs: 200 };
    await fixture.runGraph('first');

    const second = await fixture.runGraph('second');

    const error = errorOf(second, 'install');
    expect(error?.code).toBe('registration-lost');
    expect(error?.fix).toContain('Uninstall Microsoft Integration Runtime on shirvm');
  });
});

describe('F06: the VM already hosts another runtime', () => {
  it('refuses to install a second runtime and offers another VM', async () => {
    fixture = await startHostFixture({ scenario: 'F06', decisions: {
      host: { mode: 'reuse-vm', vmName: 'vm-etl-01' }, nodeName: 'vm-etl-01' } });

    const run = await fixture.runGraph();

    const error = errorOf(run, 'install');
    expect(error?.code).toBe('vm-hosts-other-runtime');
    expect(error?.what).toContain('ir-dev-selfhosted');
    expect(error?.fix).toContain('--vm-name');
    expect(await nodeStatus('vm-etl-01')).toBeUndefined();
  });
});

describe('F17: a reused VM without egress', () => {
  const reuse = { host: { mode: 'reuse-vm' as const, vmName: 'vm-etl-01',
    egress: 'nat-gateway' as const }, nodeName: 'vm-etl-01' };

  it('gets a NAT gateway on its subnet, then installs', async () => {
    fixture = await startHostFixture({ scenario: 'F17', decisions: reuse });

    const run = await fixture.runGraph();

    expect(run.result.failed).toEqual([]);
    const { network } = fixture.context.clients;
    const subnet = await network.subnets.get(fixture.context.target.resourceGroup, 'vnet-etl',
      'snet-etl');
    expect(subnet.natGateway?.id).toMatch(/natGateways\/vm-etl-01-natgw$/);
    expect(await nodeStatus('vm-etl-01')).toBe('Online');
  });

  it('a public IP on the NIC is the other way out', async () => {
    fixture = await startHostFixture({ scenario: 'F17', decisions: {
      ...reuse, host: { ...reuse.host, egress: 'public-ip' } } });

    const run = await fixture.runGraph();

    expect(run.result.failed).toEqual([]);
    const nic = await fixture.context.clients.network.networkInterfaces.get(
      fixture.context.target.resourceGroup, 'nic-vm-etl-01');
    expect(nic.ipConfigurations?.[0]?.publicIPAddress?.id).toMatch(/vm-etl-01-egress-ip$/);
  });

  it('without the egress the probe fails before anything is installed', async () => {
    fixture = await startHostFixture({ scenario: 'F17', decisions: {
      ...reuse, host: { mode: 'reuse-vm', vmName: 'vm-etl-01' } } });

    const run = await fixture.runGraph();

    expect(statusOf(run)).toMatchObject({ probe: 'failed', install: 'blocked' });
    const error = errorOf(run, 'probe');
    expect(error?.what).toContain(`cannot reach ${SERVICE_BUS_PROBE_HOST}:443 (tcp-failed)`);
    expect(error?.fix).toContain('NAT gateway');
  });
});

describe('F07: the firewall blocks *.servicebus.windows.net', () => {
  it('the probe names the relay host and the remedy', async () => {
    fixture = await startHostFixture({ scenario: 'F07' });

    const run = await fixture.runGraph();

    const error = errorOf(run, 'probe');
    expect(error?.what).toContain(SERVICE_BUS_PROBE_HOST);
    expect(error?.why).toContain('*.servicebus.windows.net');
    expect(statusOf(run).install).toBe('blocked');
  });
});

describe('F19: egress only through a proxy', () => {
  it('without a proxy the probe says a proxy is required', async () => {
    fixture = await startHostFixture({ scenario: 'F19' });

    const run = await fixture.runGraph();

    expect(errorOf(run, 'probe')?.code).toBe('egress-proxy-required');
    expect(errorOf(run, 'probe')?.fix).toContain('--proxy');
  });

  it('with --proxy the probe and the install use it and the node comes Online', async () => {
    fixture = await startHostFixture({ scenario: 'F19', proxyUrl: 'http://proxy.corp:3128' });

    const run = await fixture.runGraph();

    expect(run.result.failed).toEqual([]);
    expect(await nodeStatus('shirvm')).toBe('Online');
    const guest = fixture.sandbox.peek(`${fixture.context.produced.vmId}#guest`) as
      { runtime?: { proxyUrl?: string } };
    expect(guest.runtime?.proxyUrl).toBe('http://proxy.corp:3128');
  });
});

describe('F14: a VM rebuilt under the same name', () => {
  const rebuilt = { runtimeName: 'shir-etl', isRuntimeNew: false,
    host: { mode: 'reuse-vm' as const, vmName: 'vm-shir-01' }, nodeName: 'vm-shir-01' };

  it('with approval the stale node goes and the new VM registers under the name', async () => {
    fixture = await startHostFixture({ scenario: 'F14',
      decisions: { ...rebuilt, staleNodes: ['vm-shir-01'] } });

    const run = await fixture.runGraph();

    expect(run.result.failed).toEqual([]);
    expect(await nodeStatus('vm-shir-01', 'shir-etl')).toBe('Online');
  });

  it('without approval the install refuses to clash with the Offline node', async () => {
    fixture = await startHostFixture({ scenario: 'F14', decisions: rebuilt });

    await expect(fixture.run(installStep())).rejects.toThrowError(/Offline node named vm-shir-01/);
  });
});
