/**
 * The simulated Windows guest behind Run Command v2, scenario by scenario.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGuestLines, SCRIPT_MARKERS } from '../../source/wire/guest.js';
import type { SandboxHandle } from '../../source/sandbox/index.js';
import { clients, createVm, fast, ids, raw, start, tempState } from './helpers.js';

const TLS = '[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::' +
  'SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12';
const INSTALL = `${SCRIPT_MARKERS.install}\n${TLS}\nparam()`;
const INSTALL_NO_TLS = `${SCRIPT_MARKERS.install}\nparam()`;
const PROBE = `${SCRIPT_MARKERS.probe}\nparam()`;
const INSPECT = `${SCRIPT_MARKERS.inspect}\nparam()`;

let sb: SandboxHandle | undefined;
afterEach(async () => { await sb?.close(); sb = undefined; });

async function setup(scenario: string) {
  sb = await start({ scenario });
  const c = clients(sb);
  const rg = sb.target.resourceGroup;
  const ws = sb.target.workspaceName;
  const ensureIr = async (name: string) => {
    await c.synapse.integrationRuntimes.beginCreateAndWait(rg, ws, name,
      { properties: { type: 'SelfHosted' } }, fast);
    return (await c.synapse.integrationRuntimeAuthKeysOperations.list(rg, ws, name))
      .authKey1 as string;
  };
  const run = async (vm: string, name: string, script: string,
    params: Record<string, string> = {}, secret: Record<string, string> = {}) => {
    await c.compute.virtualMachineRunCommands.createOrUpdate(rg, vm, name, {
      location: 'westeurope', source: { script },
      parameters: Object.entries(params).map(([n, value]) => ({ name: n, value })),
      protectedParameters: Object.entries(secret).map(([n, value]) => ({ name: n, value })),
    }, fast);
    const rc = await c.compute.virtualMachineRunCommands.getByVirtualMachine(rg, vm, name,
      { expand: 'instanceView' });
    const view = rc.instanceView ?? {};
    return { exitCode: view.exitCode, output: view.output ?? '',
      lines: parseGuestLines(view.output ?? ''), raw: JSON.stringify(rc) };
  };
  const status = async (ir: string) =>
    (await c.synapse.integrationRuntimeStatusOperations.get(rg, ws, ir)).properties as any;
  return { sb, c, rg, ws, ensureIr, run, status };
}

const stage = (lines: Array<Record<string, string>>, name: string) =>
  lines.find((l) => l.stage === name);

describe('install script', () => {
  it('registers a node with a valid key, refuses a bad key, and never echoes the key',
    async () => {
      const t = await setup('F01');
      const key = await t.ensureIr('ir-a');
      await createVm(t.sb, t.c, 'vm-a');
      const bad = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a' },
        { AuthKey: key.replace(/@([^@]+)$/, '@AAAA$1') });
      expect(bad.exitCode).toBe(8);
      expect(stage(bad.lines, 'register')?.status).toBe('failed');
      expect(bad.raw).not.toContain(key);

      const good = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a' },
        { AuthKey: key });
      expect(good.exitCode).toBe(0);
      expect(stage(good.lines, 'done')?.status).toBe('ok');
      expect(good.raw).not.toContain(key);
      const st = await t.status('ir-a');
      expect(st.state).toBe('Online');
      expect(st.nodes[0].nodeName).toBe('vm-a');

      const inspect = await t.run('vm-a', 'inspect', INSPECT);
      expect(inspect.lines[0]).toMatchObject({ installed: 'yes', registeredTo: 'ir-a' });
      const again = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a' },
        { AuthKey: key });
      expect(again.exitCode).toBe(7);
    });

  it('needs AuthKey in protectedParameters', async () => {
    const t = await setup('F01');
    const key = await t.ensureIr('ir-a');
    await createVm(t.sb, t.c, 'vm-a');
    const res = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a', AuthKey: key });
    expect(res.exitCode).toBe(2);
    expect(stage(res.lines, 'parameters')?.reason).toBe('AuthKey-missing');
  });

  it('F09: fails the download on an old image unless the script forces TLS 1.2', async () => {
    const t = await setup('F09');
    const key = await t.ensureIr('ir-a');
    await createVm(t.sb, t.c, 'vm-old');
    const noTls = await t.run('vm-old', 'install', INSTALL_NO_TLS, { NodeName: 'vm-old' },
      { AuthKey: key });
    expect(noTls.exitCode).toBe(4);
    expect(stage(noTls.lines, 'download')?.reason).toBe('tls');
    expect(noTls.raw).toContain('secure channel');
    const withTls = await t.run('vm-old', 'install', INSTALL, { NodeName: 'vm-old' },
      { AuthKey: key });
    expect(withTls.exitCode).toBe(0);
  });

  it('F10: answers msiexec 1618 on the first attempt, then succeeds', async () => {
    const t = await setup('F10');
    const key = await t.ensureIr('ir-a');
    await createVm(t.sb, t.c, 'vm-a');
    const first = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a' }, { AuthKey: key });
    expect(first.exitCode).toBe(6);
    expect(stage(first.lines, 'msi')?.msiExit).toBe('1618');
    const second = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a' },
      { AuthKey: key });
    expect(second.exitCode).toBe(0);
  });

  it('F10b: answers 1618 on every attempt', async () => {
    const t = await setup('F10b');
    const key = await t.ensureIr('ir-a');
    await createVm(t.sb, t.c, 'vm-a');
    for (let n = 0; n < 3; n++) {
      const res = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a' }, { AuthKey: key });
      expect([res.exitCode, stage(res.lines, 'msi')?.msiExit]).toEqual([6, '1618']);
    }
  });

  it('F11b: exits 9 when DIAHostService does not start, and no node comes online',
    async () => {
      const t = await setup('F11b');
      const key = await t.ensureIr('ir-a');
      await createVm(t.sb, t.c, 'vm-a');
      const res = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a' },
        { AuthKey: key });
      expect(res.exitCode).toBe(9);
      expect(stage(res.lines, 'service')).toMatchObject({ status: 'failed',
        name: 'DIAHostService' });
      expect((await t.status('ir-a')).state).toBe('NeedRegistration');
    });

  it('F11: exits 0 while the runtime still needs registration', async () => {
    const t = await setup('F11');
    const key = await t.ensureIr('ir-a');
    await createVm(t.sb, t.c, 'vm-a');
    const res = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a' }, { AuthKey: key });
    expect(res.exitCode).toBe(0);
    expect((await t.status('ir-a')).state).toBe('NeedRegistration');
  });

  it('F14: refuses a node name held by a stale node until that node is removed', async () => {
    const t = await setup('F14');
    const st = await t.status('shir-etl');
    expect(st.state).toBe('Offline');
    const key = (await t.c.synapse.integrationRuntimeAuthKeysOperations.list(t.rg, t.ws,
      'shir-etl')).authKey1 as string;
    const clash = await t.run('vm-shir-01', 'install', INSTALL, { NodeName: 'vm-shir-01' },
      { AuthKey: key });
    expect(clash.exitCode).toBe(8);
    expect(clash.output).toContain('already exists');
    await t.c.synapse.integrationRuntimeNodes.delete(t.rg, t.ws, 'shir-etl', 'vm-shir-01');
    const ok = await t.run('vm-shir-01', 'install', INSTALL, { NodeName: 'vm-shir-01' },
      { AuthKey: key });
    expect(ok.exitCode).toBe(0);
    expect((await t.status('shir-etl')).state).toBe('Online');
  });

  it('F15: refuses a fifth node', async () => {
    const t = await setup('F15');
    const key = (await t.c.synapse.integrationRuntimeAuthKeysOperations.list(t.rg, t.ws,
      'shir-etl')).authKey1 as string;
    await createVm(t.sb, t.c, 'vm-five');
    const res = await t.run('vm-five', 'install', INSTALL, { NodeName: 'vm-five' },
      { AuthKey: key });
    expect(res.exitCode).toBe(8);
    expect(res.output).toContain('maximum of 4 nodes');
  });

  it('F06: reports a runtime registered elsewhere and will not install a second', async () => {
    const t = await setup('F06');
    const inspect = await t.run('vm-etl-01', 'inspect', INSPECT);
    expect(inspect.lines[0]).toMatchObject({ installed: 'yes',
      registeredTo: 'ir-dev-selfhosted' });
    const key = await t.ensureIr('ir-a');
    const res = await t.run('vm-etl-01', 'install', INSTALL, { NodeName: 'vm-etl-01' },
      { AuthKey: key });
    expect(res.exitCode).toBe(7);
  });

  it('F19: needs ProxyUrl to download and register behind the proxy', async () => {
    const t = await setup('F19');
    const key = await t.ensureIr('ir-a');
    await createVm(t.sb, t.c, 'vm-a');
    const direct = await t.run('vm-a', 'install', INSTALL, { NodeName: 'vm-a' },
      { AuthKey: key });
    expect(direct.exitCode).toBe(4);
    expect(stage(direct.lines, 'download')?.reason).toBe('proxy');
    const proxied = await t.run('vm-a', 'install', INSTALL,
      { NodeName: 'vm-a', ProxyUrl: 'http://proxy.contoso.local:3128' }, { AuthKey: key });
    expect(proxied.exitCode).toBe(0);
  });
});

describe('probe script', () => {
  const hosts = 'api.partner.example:443,sb-1.servicebus.windows.net:443,nowhere.example:443';

  it('F17: reports tcp-failed without egress, ok after a NAT gateway is attached', async () => {
    const t = await setup('F17');
    const before = await t.run('vm-etl-01', 'probe', PROBE, { Hosts: hosts });
    expect(before.exitCode).toBe(0);
    expect(before.lines.map((l) => l.result)).toEqual(['tcp-failed', 'tcp-failed',
      'tcp-failed']);

    const net = (kind: string, name: string) => ids(t.sb).net(kind, name);
    await t.c.network.publicIPAddresses.beginCreateOrUpdateAndWait(t.rg, 'pip-nat', {
      location: 'westeurope', sku: { name: 'Standard' } }, fast);
    await t.c.network.natGateways.beginCreateOrUpdateAndWait(t.rg, 'nat-new', {
      location: 'westeurope', sku: { name: 'Standard' },
      publicIpAddresses: [{ id: net('publicIPAddresses', 'pip-nat') }] }, fast);
    const subnet = await t.c.network.subnets.get(t.rg, 'vnet-etl', 'snet-etl');
    await t.c.network.subnets.beginCreateOrUpdateAndWait(t.rg, 'vnet-etl', 'snet-etl',
      { ...subnet, natGateway: { id: net('natGateways', 'nat-new') } }, fast);
    const after = await t.run('vm-etl-01', 'probe', PROBE, { Hosts: hosts });
    expect(after.lines.map((l) => l.result)).toEqual(['ok', 'ok', 'dns-failed']);
  });

  it('treats an NSG that denies outbound 443 as no egress', async () => {
    const t = await setup('F06');
    const before = await t.run('vm-etl-01', 'probe', PROBE, { Hosts: 'api.partner.example:443' });
    expect(before.lines[0].result).toBe('ok');
    await t.c.network.networkSecurityGroups.beginCreateOrUpdateAndWait(t.rg, 'nsg-lock', {
      location: 'westeurope', securityRules: [{ name: 'deny-internet-out', priority: 100,
        direction: 'Outbound', access: 'Deny', protocol: 'Tcp', sourceAddressPrefix: '*',
        sourcePortRange: '*', destinationAddressPrefix: 'Internet',
        destinationPortRange: '443' }] }, fast);
    const subnet = await t.c.network.subnets.get(t.rg, 'vnet-etl', 'snet-etl');
    await t.c.network.subnets.beginCreateOrUpdateAndWait(t.rg, 'vnet-etl', 'snet-etl', {
      ...subnet, networkSecurityGroup: { id: ids(t.sb).net('networkSecurityGroups',
        'nsg-lock') } }, fast);
    const after = await t.run('vm-etl-01', 'probe', PROBE, { Hosts: 'api.partner.example:443' });
    expect(after.lines[0].result).toBe('tcp-failed');
  });

  it('F07: names the blocked Service Bus host', async () => {
    const t = await setup('F07');
    const res = await t.run('vm-shir-01', 'probe', PROBE, { Hosts: hosts });
    expect(res.lines.map((l) => [l.host, l.result])).toEqual([
      ['api.partner.example', 'ok'], ['sb-1.servicebus.windows.net', 'tcp-failed'],
      ['nowhere.example', 'dns-failed']]);
  });

  it('F07b: reports tls-failed for a host behind TLS inspection', async () => {
    const t = await setup('F07b');
    await createVm(t.sb, t.c, 'vm-a');
    const res = await t.run('vm-a', 'probe', PROBE, { Hosts: hosts });
    expect(res.lines.map((l) => l.result)).toEqual(['tls-failed', 'ok', 'dns-failed']);
  });

  it('F19b: reports dns-failed for a host the VM cannot resolve', async () => {
    const t = await setup('F19b');
    await createVm(t.sb, t.c, 'vm-a');
    const res = await t.run('vm-a', 'probe', PROBE, { Hosts: hosts });
    expect(res.lines.map((l) => l.result)).toEqual(['dns-failed', 'ok', 'dns-failed']);
  });

  it('F19: reports proxy-required without ProxyUrl', async () => {
    const t = await setup('F19');
    await createVm(t.sb, t.c, 'vm-a');
    const res = await t.run('vm-a', 'probe', PROBE, { Hosts: 'api.partner.example:443' });
    expect(res.lines[0].result).toBe('proxy-required');
    const ok = await t.run('vm-a', 'probe', PROBE, { Hosts: 'api.partner.example:443',
      ProxyUrl: 'http://proxy.contoso.local:3128' });
    expect(ok.lines[0].result).toBe('ok');
  });
});

describe('run command resource', () => {
  it('fails the operation on a non-zero exit with treatFailureAsDeploymentFailure', async () => {
    const t = await setup('F09');
    const key = await t.ensureIr('ir-a');
    await createVm(t.sb, t.c, 'vm-old');
    const err = await t.c.compute.virtualMachineRunCommands.createOrUpdate(t.rg, 'vm-old',
      'install', { location: 'westeurope', source: { script: INSTALL_NO_TLS },
        treatFailureAsDeploymentFailure: true,
        parameters: [{ name: 'NodeName', value: 'vm-old' }],
        protectedParameters: [{ name: 'AuthKey', value: key }] }, fast).catch((e) => e);
    expect(String(err?.message)).toMatch(/long-running operation has failed/);
    expect(String(err?.message)).not.toContain(key);
    const rc = await t.c.compute.virtualMachineRunCommands.getByVirtualMachine(t.rg, 'vm-old',
      'install', { expand: 'instanceView' });
    expect([rc.provisioningState, rc.instanceView?.exitCode]).toEqual(['Failed', 4]);
  });

  it('keeps a running command busy (409) and reports Running until its time is up',
    async () => {
      sb = await start({ scenario: 'F06', timeScale: 5 });
      const path = `${ids(sb).vm('vm-etl-01')}/runCommands/probe?api-version=2024-07-01`;
      const body = { location: 'westeurope', properties: { asyncExecution: true,
        source: { script: PROBE }, parameters: [{ name: 'Hosts', value: 'a.example:443' }] } };
      const first = await raw(sb, 'PUT', path, { body });
      expect(first.status).toBe(201);
      expect(first.headers['azure-asyncoperation']).toContain(sb.endpoint);
      const busy = await raw(sb, 'PUT', path, { body });
      expect(busy.status).toBe(409);
      const rc = await clients(sb).compute.virtualMachineRunCommands.getByVirtualMachine(
        sb.target.resourceGroup, 'vm-etl-01', 'probe', { expand: 'instanceView' });
      expect(rc.instanceView?.executionState).toBe('Running');
      const plain = await raw(sb, 'GET', path);
      expect(plain.body.properties.instanceView).toBeUndefined();
    });
});

describe('node coming online', () => {
  it('shows the runtime Starting while its only node is Initializing', async () => {
    const file = join(tempState(), 'starting.json');
    writeFileSync(file, JSON.stringify({ id: 'T-starting', extends: 'F01',
      resources: [{ id: '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/' +
        'providers/Microsoft.Synapse/workspaces/{workspaceName}/integrationruntimes/ir-s',
      name: 'ir-s', type: 'Microsoft.Synapse/workspaces/integrationruntimes',
      properties: { type: 'SelfHosted' } }],
      runtimes: { '{workspaceName}/ir-s': { nodes: [{ nodeName: 'n1',
        status: 'Initializing' }] } } }));
    sb = await start({ scenario: file });
    const path = `${ids(sb).ir('ir-s')}/getStatus?api-version=2021-06-01-preview`;
    const body = (await raw(sb, 'POST', path)).body;
    expect(body.properties.state).toBe('Starting');
    expect(body.properties.typeProperties.nodes[0].status).toBe('Initializing');
  });
});

describe('the shipped scripts', () => {
  const script = (name: string) => readFileSync(join('scripts', name), 'utf8');

  it('are recognised by marker, and install-shir.ps1 passes the TLS check on an old image',
    async () => {
      const t = await setup('F09');
      const key = await t.ensureIr('ir-a');
      await createVm(t.sb, t.c, 'vm-old');
      const inspect = await t.run('vm-old', 'inspect', script('inspect-runtime.ps1'));
      expect(inspect.lines[0]).toMatchObject({ installed: 'no', registeredTo: 'none' });
      const probe = await t.run('vm-old', 'probe', script('probe-egress.ps1'),
        { Hosts: 'api.partner.example:443' });
      expect(probe.lines[0]).toMatchObject({ host: 'api.partner.example', result: 'ok' });
      const install = await t.run('vm-old', 'install', script('install-shir.ps1'),
        { NodeName: 'vm-old' }, { AuthKey: key });
      expect(install.exitCode).toBe(0);
      expect(install.raw).not.toContain(key);
    });
});
