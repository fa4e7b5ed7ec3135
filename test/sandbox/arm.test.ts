import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRestError } from '@azure/core-rest-pipeline';
import type { SandboxHandle } from '../../source/sandbox/index.js';
import { clients, createVm, fast, ids, raw, start } from './helpers.js';

describe('ARM protocol', () => {
  let sb: SandboxHandle;
  let c: ReturnType<typeof clients>;
  let rg: string;
  let ws: string;
  beforeAll(async () => {
    sb = await start({ pageSize: 2 });
    c = clients(sb);
    rg = sb.target.resourceGroup;
    ws = sb.target.workspaceName;
  });
  afterAll(async () => { await sb?.close(); });

  it('lists workspaces by resource group and by subscription', async () => {
    const byRg = [];
    for await (const w of c.synapse.workspaces.listByResourceGroup(rg)) byRg.push(w.name);
    const bySub = [];
    for await (const w of c.synapse.workspaces.list()) bySub.push(w.name);
    expect(byRg).toEqual([ws]);
    expect(bySub).toEqual([ws]);
  });

  it('pages past the page size with nextLinks that carry the api-version', async () => {
    for (const n of [1, 2, 3, 4, 5]) {
      await c.network.publicIPAddresses.beginCreateOrUpdateAndWait(rg, `pip-${n}`, {
        location: 'westeurope', sku: { name: 'Standard' } }, fast);
    }
    const names = [];
    for await (const p of c.network.publicIPAddresses.list(rg)) names.push(p.name);
    expect(names.sort()).toEqual(['pip-1', 'pip-2', 'pip-3', 'pip-4', 'pip-5']);

    const first = await raw(sb, 'GET',
      `${ids(sb).rg}/providers/Microsoft.Network/publicIPAddresses?api-version=2025-05-01`);
    expect(first.body.value).toHaveLength(2);
    expect(first.body.nextLink).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/.*api-version=2025-05-01/);
  });

  it('answers PUT with Azure-AsyncOperation on its own base, InProgress then Succeeded',
    async () => {
      const res = await raw(sb, 'PUT', `${ids(sb).net('networkSecurityGroups', 'nsg-a')}` +
        '?api-version=2025-05-01', { body: { location: 'westeurope' } });
      expect(res.status).toBe(201);
      const poll = res.headers['azure-asyncoperation'];
      expect(poll.startsWith(sb.endpoint)).toBe(true);
      expect(res.headers['retry-after']).toBe('0');
      expect((await raw(sb, 'GET', poll)).body.status).toBe('InProgress');
      expect((await raw(sb, 'GET', poll)).body.status).toBe('Succeeded');
      const again = await raw(sb, 'PUT', `${ids(sb).net('networkSecurityGroups', 'nsg-a')}` +
        '?api-version=2025-05-01', { body: { location: 'westeurope' } });
      expect(again.status).toBe(200);
    });

  it('returns ARM error bodies that become RestErrors', async () => {
    const err = await c.compute.virtualMachines.get(rg, 'nope').catch((e) => e);
    expect(isRestError(err)).toBe(true);
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('ResourceNotFound');
    const rgErr = await c.network.virtualNetworks.get('rg-missing', 'x').catch((e) => e);
    expect(rgErr.code).toBe('ResourceGroupNotFound');
  });

  it('refuses to change DEP or the managed VNet of a workspace', async () => {
    const res = await raw(sb, 'PUT', `${ids(sb).ws}?api-version=2021-06-01`, { body: {
      location: 'westeurope', properties: { managedVirtualNetworkSettings: {
        preventDataExfiltration: false } } } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/cannot be changed/);
    const w = await c.synapse.workspaces.get(rg, ws);
    expect(w.managedVirtualNetworkSettings?.preventDataExfiltration).toBe(true);
  });

  it('refuses Basic public IPs and defaults new subnets by api-version', async () => {
    const basic = await raw(sb, 'PUT', `${ids(sb).net('publicIPAddresses', 'pip-basic')}` +
      '?api-version=2025-05-01', { body: { location: 'westeurope', sku: { name: 'Basic' } } });
    expect(basic.status).toBe(400);

    const vnet = `${ids(sb).net('virtualNetworks', 'vnet-a')}`;
    await raw(sb, 'PUT', `${vnet}?api-version=2025-05-01`, { body: { location: 'westeurope',
      properties: { addressSpace: { addressPrefixes: ['10.1.0.0/16'] } } } });
    await raw(sb, 'PUT', `${vnet}/subnets/old?api-version=2025-05-01`,
      { body: { properties: { addressPrefix: '10.1.1.0/24' } } });
    await raw(sb, 'PUT', `${vnet}/subnets/new?api-version=2025-07-01`,
      { body: { properties: { addressPrefix: '10.1.2.0/24' } } });
    const got = await c.network.virtualNetworks.get(rg, 'vnet-a');
    const access = Object.fromEntries((got.subnets ?? []).map((s) => [s.name,
      s.defaultOutboundAccess]));
    expect(access).toEqual({ old: true, new: false });
  });

  it('runs the self-hosted runtime lifecycle: keys, regenerate, nodes, delete', async () => {
    await c.synapse.integrationRuntimes.beginCreateAndWait(rg, ws, 'ir-life',
      { properties: { type: 'SelfHosted' } }, fast);
    const keys = await c.synapse.integrationRuntimeAuthKeysOperations.list(rg, ws, 'ir-life');
    const renewed = await c.synapse.integrationRuntimeAuthKeysOperations.regenerate(rg, ws,
      'ir-life', { keyName: 'authKey1' });
    expect(renewed.authKey1).not.toBe(keys.authKey1);
    expect(renewed.authKey2).toBeUndefined();

    const managed = await c.synapse.integrationRuntimeAuthKeysOperations.list(rg, ws,
      'AutoResolveIntegrationRuntime').catch((e) => e);
    expect(managed.statusCode).toBe(400);

    await c.synapse.integrationRuntimes.beginDeleteAndWait(rg, ws, 'ir-life', fast);
    await expect(c.synapse.integrationRuntimes.get(rg, ws, 'ir-life'))
      .rejects.toMatchObject({ statusCode: 404 });
    const inUse = await c.synapse.integrationRuntimes.beginDeleteAndWait(rg, ws,
      'AutoResolveIntegrationRuntime', fast).catch((e) => e);
    expect(inUse.statusCode).toBe(400);
  });

  it('checks If-Match on an integration runtime PUT and answers 412 on mismatch', async () => {
    const url = `${ids(sb).ir('ir-etag')}?api-version=2021-06-01`;
    const body = { properties: { type: 'SelfHosted' } };
    expect((await raw(sb, 'PUT', url, { body, headers: { 'if-match': '"x"' } })).status)
      .toBe(412);
    await c.synapse.integrationRuntimes.beginCreateAndWait(rg, ws, 'ir-etag', body, fast);
    const { etag } = await c.synapse.integrationRuntimes.get(rg, ws, 'ir-etag');
    const stale = await raw(sb, 'PUT', url, { body, headers: { 'if-match': '"stale"' } });
    expect(stale.status).toBe(412);
    const ok = await raw(sb, 'PUT', url, { body, headers: { 'if-match': `"${etag}"` } });
    expect(ok.status).toBeLessThan(300);
  });

  it('runs Run Command v1 with Location monitor results', async () => {
    const vmId = await createVm(sb, c, 'vm-v1');
    expect(vmId).toContain('vm-v1');
    const result = await c.compute.virtualMachines.runCommand(rg, 'vm-v1', {
      commandId: 'RunPowerShellScript',
      script: ['# shir-doctor: inspect-runtime', 'Write-Output x'] }, fast);
    expect(result.value?.[0].code).toBe('ComponentStatus/StdOut/succeeded');
    expect(result.value?.[0].message).toContain('SHIR-DOCTOR runtime installed=no');
  });

  it('returns the VM instance view on $expand and deletes VMs through an operation', async () => {
    await createVm(sb, c, 'vm-del');
    const vm = await c.compute.virtualMachines.get(rg, 'vm-del', { expand: 'instanceView' });
    expect(vm.instanceView?.statuses?.map((s) => s.code)).toContain('PowerState/running');
    await c.compute.virtualMachines.delete(rg, 'vm-del', fast);
    await expect(c.compute.virtualMachines.get(rg, 'vm-del'))
      .rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('network deletes respect references', () => {
  it('refuses to delete what is still in use, and allows it in the right order', async () => {
    const sb = await start();
    const c = clients(sb);
    const rg = sb.target.resourceGroup;
    const i = ids(sb);
    await c.network.publicIPAddresses.beginCreateOrUpdateAndWait(rg, 'pip', {
      location: 'westeurope', sku: { name: 'Standard' } }, fast);
    await c.network.natGateways.beginCreateOrUpdateAndWait(rg, 'nat', {
      location: 'westeurope', sku: { name: 'Standard' },
      publicIpAddresses: [{ id: i.net('publicIPAddresses', 'pip') }] }, fast);
    await c.network.virtualNetworks.beginCreateOrUpdateAndWait(rg, 'vnet', {
      location: 'westeurope', addressSpace: { addressPrefixes: ['10.7.0.0/16'] },
      subnets: [{ name: 's', addressPrefix: '10.7.0.0/24',
        natGateway: { id: i.net('natGateways', 'nat') } }] }, fast);
    await c.network.networkInterfaces.beginCreateOrUpdateAndWait(rg, 'nic', {
      location: 'westeurope', ipConfigurations: [{ name: 'ipconfig1',
        subnet: { id: `${i.net('virtualNetworks', 'vnet')}/subnets/s` } }] }, fast);

    const refused = async (p: Promise<unknown>) => (await p.catch((e) => e) as any).code;
    expect(await refused(c.network.publicIPAddresses.beginDeleteAndWait(rg, 'pip', fast)))
      .toBe('PublicIPAddressInUse');
    expect(await refused(c.network.natGateways.beginDeleteAndWait(rg, 'nat', fast)))
      .toBe('InUseNatGatewayCannotBeDeleted');
    expect(await refused(c.network.virtualNetworks.beginDeleteAndWait(rg, 'vnet', fast)))
      .toBe('InUseSubnetCannotBeDeleted');

    await c.network.networkInterfaces.beginDeleteAndWait(rg, 'nic', fast);
    await c.network.virtualNetworks.beginDeleteAndWait(rg, 'vnet', fast);
    await c.network.natGateways.beginDeleteAndWait(rg, 'nat', fast);
    await c.network.publicIPAddresses.beginDeleteAndWait(rg, 'pip', fast);
    expect(sb.peek(i.net('publicIPAddresses', 'pip'))).toBeUndefined();
    await sb.close();
  });
});
