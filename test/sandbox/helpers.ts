/**
 * Test helpers: start a sandbox in a temp folder and build the real SDK clients against it,
 * configured as AZURE-WIRE.md says, with a policy that refuses any host but 127.0.0.1.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { SynapseManagementClient } from '@azure/arm-synapse';
import { ArtifactsClient } from '@azure/synapse-artifacts';
import { ClientSecretCredential } from '@azure/identity';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import {
  startSandbox, type SandboxHandle, type SandboxOptions,
} from '../../source/sandbox/index.js';

export const ARM_SCOPE = 'https://management.azure.com/.default';

/** Refuses any request that is not for 127.0.0.1 or localhost. */
export const localOnly: PipelinePolicy = {
  name: 'localOnly',
  sendRequest(request, next) {
    const host = new URL(request.url).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost') {
      throw new Error(`test refused a request to ${host}`);
    }
    return next(request);
  },
};

/** A fresh state folder. */
export function tempState(): string {
  return mkdtempSync(join(tmpdir(), 'shir-sandbox-'));
}

/** Starts a sandbox with timeScale 0 in a fresh folder unless told otherwise. */
export function start(options: Partial<SandboxOptions> = {}): Promise<SandboxHandle> {
  return startSandbox({ stateDir: tempState(), timeScale: 0, ...options });
}

/** The real SDK clients, pointed at the sandbox. */
export function clients(sb: SandboxHandle) {
  const tlsOptions = { ca: sb.caPem };
  const credential = new ClientSecretCredential(sb.tenantId, sb.clientId, sb.clientSecret, {
    authorityHost: sb.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions,
  });
  const common = {
    endpoint: sb.endpoint,
    tlsOptions,
    retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 50 },
    additionalPolicies: [{ policy: localOnly, position: 'perRetry' as const }],
  };
  const sub = sb.target.subscriptionId;
  return {
    credential,
    synapse: new SynapseManagementClient(credential, sub, { ...common,
      credentialScopes: [ARM_SCOPE] }),
    network: new NetworkManagementClient(credential, sub, { ...common,
      credentialScopes: [ARM_SCOPE] }),
    compute: new ComputeManagementClient(credential, sub, { ...common,
      credentials: { scopes: [ARM_SCOPE] } }),
    artifacts: (devEndpoint: string) => new ArtifactsClient(credential, devEndpoint, {
      tlsOptions, retryOptions: common.retryOptions,
      additionalPolicies: common.additionalPolicies,
    }),
  };
}

/** The fast LRO polling option. */
export const fast = { updateIntervalInMs: 0 };

/** A raw HTTPS request to the sandbox (no SDK), for wire-level assertions. */
export async function raw(sb: SandboxHandle, method: string, pathOrUrl: string,
  init: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}) {
  const { request } = await import('node:https');
  const url = new URL(pathOrUrl, sb.endpoint);
  const token = init.token === undefined
    ? sb.issueToken(url.pathname.startsWith('/dev/') ? 'https://dev.azuresynapse.net/.default'
      : ARM_SCOPE)
    : init.token;
  const headers: Record<string, string> = { 'content-type': 'application/json',
    ...init.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise<{ status: number; headers: Record<string, string>; body: any }>(
    (resolve, reject) => {
      const req = request(url, { method, ca: sb.caPem, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>,
            body: text ? JSON.parse(text) : undefined });
        });
      });
      req.on('error', reject);
      if (init.body !== undefined) req.write(JSON.stringify(init.body));
      req.end();
    });
}

/** ARM id helpers for the sandbox's target. */
export function ids(sb: SandboxHandle) {
  const sub = `/subscriptions/${sb.target.subscriptionId}`;
  const rg = `${sub}/resourceGroups/${sb.target.resourceGroup}`;
  const ws = `${rg}/providers/Microsoft.Synapse/workspaces/${sb.target.workspaceName}`;
  return {
    rg,
    ws,
    ir: (name: string) => `${ws}/integrationruntimes/${name}`,
    vm: (name: string) => `${rg}/providers/Microsoft.Compute/virtualMachines/${name}`,
    net: (kind: string, name: string) => `${rg}/providers/Microsoft.Network/${kind}/${name}`,
    dev: `/dev/${sb.target.workspaceName}`,
  };
}

/** A VM with a NIC in a subnet that has default outbound access. */
export async function createVm(sb: SandboxHandle, c: ReturnType<typeof clients>,
  name: string, image = '2022-datacenter-azure-edition', prefix = '10.9'): Promise<string> {
  const rg = sb.target.resourceGroup;
  const vnet = await c.network.virtualNetworks.beginCreateOrUpdateAndWait(rg, `vnet-${name}`, {
    location: 'westeurope', addressSpace: { addressPrefixes: [`${prefix}.0.0/16`] },
    subnets: [{ name: 'default', addressPrefix: `${prefix}.0.0/24` }] }, fast);
  await c.network.networkInterfaces.beginCreateOrUpdateAndWait(rg, `nic-${name}`, {
    location: 'westeurope', ipConfigurations: [{ name: 'ipconfig1',
      subnet: { id: vnet.subnets?.[0].id } }] }, fast);
  const vm = await c.compute.virtualMachines.createOrUpdate(rg, name, {
    location: 'westeurope',
    hardwareProfile: { vmSize: 'Standard_D4s_v5' },
    storageProfile: { imageReference: { publisher: 'MicrosoftWindowsServer',
      offer: 'WindowsServer', sku: image, version: 'latest' } },
    osProfile: { computerName: name, adminUsername: 'u', adminPassword: 'p-Unused-1!' },
    networkProfile: { networkInterfaces: [{ id: `${ids(sb).net('networkInterfaces',
      `nic-${name}`)}` }] },
  } as any, fast);
  return vm.id as string;
}

/**
 * Does the F01 remedy by hand: a SHIR named `ir`, a VM with a NAT gateway, the runtime
 * installed and registered through Run Command v2. Returns the VM id.
 */
export async function provisionShir(sb: SandboxHandle, c: ReturnType<typeof clients>,
  ir = 'ir-e2e', vm = 'vm-e2e', proxyUrl?: string): Promise<string> {
  const rg = sb.target.resourceGroup;
  const ws = sb.target.workspaceName;
  const i = ids(sb);
  await c.synapse.integrationRuntimes.beginCreateAndWait(rg, ws, ir,
    { properties: { type: 'SelfHosted' } }, fast);
  const keys = await c.synapse.integrationRuntimeAuthKeysOperations.list(rg, ws, ir);
  await c.network.publicIPAddresses.beginCreateOrUpdateAndWait(rg, `pip-${vm}`, {
    location: 'westeurope', sku: { name: 'Standard' } }, fast);
  await c.network.natGateways.beginCreateOrUpdateAndWait(rg, `nat-${vm}`, {
    location: 'westeurope', sku: { name: 'Standard' },
    publicIpAddresses: [{ id: i.net('publicIPAddresses', `pip-${vm}`) }] }, fast);
  const vnet = await c.network.virtualNetworks.beginCreateOrUpdateAndWait(rg, `vnet-${vm}`, {
    location: 'westeurope', addressSpace: { addressPrefixes: ['10.40.0.0/16'] },
    subnets: [{ name: 'default', addressPrefix: '10.40.0.0/24', defaultOutboundAccess: false,
      natGateway: { id: i.net('natGateways', `nat-${vm}`) } }] }, fast);
  await c.network.networkInterfaces.beginCreateOrUpdateAndWait(rg, `nic-${vm}`, {
    location: 'westeurope', ipConfigurations: [{ name: 'ipconfig1',
      subnet: { id: vnet.subnets?.[0].id } }] }, fast);
  const created = await c.compute.virtualMachines.createOrUpdate(rg, vm, {
    location: 'westeurope', hardwareProfile: { vmSize: 'Standard_D4s_v5' },
    storageProfile: { imageReference: { publisher: 'MicrosoftWindowsServer',
      offer: 'WindowsServer', sku: '2022-datacenter-azure-edition', version: 'latest' } },
    networkProfile: { networkInterfaces: [{ id: i.net('networkInterfaces', `nic-${vm}`) }] },
  } as any, fast);
  const params = [{ name: 'NodeName', value: vm }];
  if (proxyUrl) params.push({ name: 'ProxyUrl', value: proxyUrl });
  await c.compute.virtualMachineRunCommands.createOrUpdate(rg, vm, 'install', {
    location: 'westeurope',
    source: { script: '# shir-doctor: install-shir\n[Net.ServicePointManager]::' +
      'SecurityProtocol = [Net.SecurityProtocolType]::Tls12' },
    parameters: params,
    protectedParameters: [{ name: 'AuthKey', value: keys.authKey1 as string }],
  }, fast);
  return created.id as string;
}

/** Points a pipeline's Web activities at `ir` (raw, so no SDK reshaping) and runs it. */
export async function runPipelineOn(sb: SandboxHandle, pipeline: string, ir?: string,
  patch: Record<string, unknown> = {}) {
  const dev = ids(sb).dev;
  const v = '?api-version=2020-12-01';
  const got = await raw(sb, 'GET', `${dev}/pipelines/${pipeline}${v}`);
  for (const a of got.body.properties.activities) {
    if (ir) a.typeProperties.connectVia = { referenceName: ir,
      type: 'IntegrationRuntimeReference' };
    Object.assign(a.typeProperties, patch);
  }
  await raw(sb, 'PUT', `${dev}/pipelines/${pipeline}${v}`, { body: { properties:
    got.body.properties } });
  const { body } = await raw(sb, 'POST', `${dev}/pipelines/${pipeline}/createRun${v}`,
    { body: {} });
  let run: any;
  for (let n = 0; n < 500; n++) {
    run = (await raw(sb, 'GET', `${dev}/pipelineruns/${body.runId}${v}`)).body;
    if (run.status !== 'Queued' && run.status !== 'InProgress') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const acts = await raw(sb, 'POST', `${dev}/pipelines/${pipeline}/pipelineruns/${body.runId}` +
    `/queryActivityruns${v}`, { body: {} });
  return { run, activities: acts.body.value as any[] };
}
