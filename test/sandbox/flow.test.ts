/**
 * The F01 remediation done by hand with the real SDK clients against the sandbox: SHIR, network
 * with egress, VM, install through Run Command v2, rewire, pipeline run through the SHIR.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_KEY_PATTERN, parseGuestLines, SCRIPT_MARKERS } from '../../source/wire/guest.js';
import type { SandboxHandle } from '../../source/sandbox/index.js';
import { clients, fast, start } from './helpers.js';

const INSTALL = `${SCRIPT_MARKERS.install}\n` +
  '[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12\n' +
  'Write-Output "installing"';

describe('F01 by hand through the real SDK clients', () => {
  let sb: SandboxHandle;
  let c: ReturnType<typeof clients>;
  let rg: string;
  let ws: string;

  beforeAll(async () => {
    sb = await start();
    c = clients(sb);
    rg = sb.target.resourceGroup;
    ws = sb.target.workspaceName;
  });
  afterAll(async () => { await sb?.close(); });

  it('a Web activity on the managed runtime fails in the DEP workspace', async () => {
    const art = await devClient();
    const { runId } = await art.pipelineOperations.createPipelineRun('CallPartnerApi');
    const run = await waitRun(art, runId);
    expect(run.status).toBe('Failed');
    expect(run.message).toMatch(/connection attempt failed/);
  });

  it('creates a SHIR, a VM with egress, installs, rewires and proves the call', async () => {
    await c.synapse.integrationRuntimes.beginCreateAndWait(rg, ws, 'shir-doctor-ir',
      { properties: { type: 'SelfHosted', description: 'made by a test' } }, fast);
    const keys = await c.synapse.integrationRuntimeAuthKeysOperations.list(rg, ws,
      'shir-doctor-ir');
    expect(keys.authKey1).toMatch(AUTH_KEY_PATTERN);
    let status = await c.synapse.integrationRuntimeStatusOperations.get(rg, ws, 'shir-doctor-ir');
    expect(status.properties.state).toBe('NeedRegistration');

    const vmId = await createVm();
    const poller = c.compute.virtualMachineRunCommands.createOrUpdate(rg, 'vm-shir',
      'shir-doctor-install', {
        location: 'westeurope',
        source: { script: INSTALL },
        parameters: [{ name: 'NodeName', value: 'vm-shir' }],
        protectedParameters: [{ name: 'AuthKey', value: keys.authKey1 as string }],
      }, fast);
    const created = await poller;
    expect(JSON.stringify(created)).not.toContain(keys.authKey1);
    const rc = await c.compute.virtualMachineRunCommands.getByVirtualMachine(rg, 'vm-shir',
      'shir-doctor-install', { expand: 'instanceView' });
    expect(rc.instanceView?.exitCode).toBe(0);
    const stages = parseGuestLines(rc.instanceView?.output ?? '');
    expect(stages.find((s) => s.stage === 'register')?.status).toBe('ok');
    expect(JSON.stringify(rc)).not.toContain(keys.authKey1);
    expect(JSON.stringify(sb.peek(rc.id as string))).not.toContain(keys.authKey1);

    status = await c.synapse.integrationRuntimeStatusOperations.get(rg, ws, 'shir-doctor-ir');
    expect(status.properties.state).toBe('Online');
    expect(JSON.stringify(sb.peek(`${vmId}#guest`))).toContain('shir-doctor-ir');

    const art = await devClient();
    const ls = await art.linkedServiceOperations.getLinkedService('RestService');
    const masked = JSON.stringify(ls.properties);
    expect(masked).toContain('**********');
    const props = structuredClone(ls.properties) as any;
    props.connectVia = { referenceName: 'shir-doctor-ir', type: 'IntegrationRuntimeReference' };
    props.authHeaders['x-api-key'].value =
      sb.adminSecrets['RestService:/typeProperties/authHeaders/x-api-key'];
    await art.linkedServiceOperations.beginCreateOrUpdateLinkedServiceAndWait('RestService',
      { properties: props }, { ifMatch: ls.etag, ...fast });
    const stored = sb.peek(`/dev/${ws}/linkedservices/RestService`) as any;
    expect(stored.properties.typeProperties.authHeaders['x-api-key'].value)
      .toBe('pk-demo-5f1e0c9b7a3d42e8b6c1');

    const pipeline = await art.pipelineOperations.getPipeline('CallPartnerApi');
    const activity = pipeline.activities?.[0] as any;
    activity.connectVia = { referenceName: 'shir-doctor-ir', type: 'IntegrationRuntimeReference' };
    await art.pipelineOperations.beginCreateOrUpdatePipelineAndWait('CallPartnerApi', pipeline,
      fast);
    const { runId } = await art.pipelineOperations.createPipelineRun('CallPartnerApi');
    const run = await waitRun(art, runId);
    expect(run.status).toBe('Succeeded');
    const acts = await art.pipelineRunOperations.queryActivityRuns('CallPartnerApi', runId, {
      lastUpdatedAfter: new Date(0), lastUpdatedBefore: new Date(Date.now() + 60_000) });
    expect((acts.value[0].output as any).status).toBe('healthy');
    expect((acts.value[0].output as any).effectiveIntegrationRuntime).toContain('shir-doctor-ir');
  });

  async function devClient() {
    const w = await c.synapse.workspaces.get(rg, ws);
    return c.artifacts(w.connectivityEndpoints?.dev as string);
  }

  async function createVm(): Promise<string> {
    const sub = sb.target.subscriptionId;
    const base = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network`;
    await c.network.publicIPAddresses.beginCreateOrUpdateAndWait(rg, 'pip-nat', {
      location: 'westeurope', sku: { name: 'Standard' },
      publicIPAllocationMethod: 'Static' }, fast);
    await c.network.natGateways.beginCreateOrUpdateAndWait(rg, 'nat-shir', {
      location: 'westeurope', sku: { name: 'Standard' },
      publicIpAddresses: [{ id: `${base}/publicIPAddresses/pip-nat` }] }, fast);
    await c.network.virtualNetworks.beginCreateOrUpdateAndWait(rg, 'vnet-shir', {
      location: 'westeurope', addressSpace: { addressPrefixes: ['10.20.0.0/16'] },
      subnets: [{ name: 'snet-shir', addressPrefix: '10.20.1.0/24', defaultOutboundAccess: false,
        natGateway: { id: `${base}/natGateways/nat-shir` } }] }, fast);
    const vnet = await c.network.virtualNetworks.get(rg, 'vnet-shir');
    expect(vnet.subnets?.[0].natGateway?.id).toContain('nat-shir');
    await c.network.networkInterfaces.beginCreateOrUpdateAndWait(rg, 'nic-shir', {
      location: 'westeurope', ipConfigurations: [{ name: 'ipconfig1',
        subnet: { id: vnet.subnets?.[0].id } }] }, fast);
    const vm = await c.compute.virtualMachines.createOrUpdate(rg, 'vm-shir', {
      location: 'westeurope',
      ...{
        hardwareProfile: { vmSize: 'Standard_D4s_v5' },
        storageProfile: { imageReference: { publisher: 'MicrosoftWindowsServer',
          offer: 'WindowsServer', sku: '2022-datacenter-azure-edition', version: 'latest' } },
        osProfile: { computerName: 'vm-shir', adminUsername: 'shiradmin',
          adminPassword: 'not-used-in-sandbox-1A!' },
        networkProfile: { networkInterfaces: [{ id: `${base}/networkInterfaces/nic-shir` }] },
      },
    } as any, fast);
    expect(vm.provisioningState).toBe('Succeeded');
    expect(JSON.stringify(vm)).not.toContain('not-used-in-sandbox');
    return vm.id as string;
  }
});

async function waitRun(art: any, runId: string) {
  for (let i = 0; i < 200; i++) {
    const run = await art.pipelineRunOperations.getPipelineRun(runId);
    if (run.status !== 'Queued' && run.status !== 'InProgress') return run;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('run did not finish');
}
