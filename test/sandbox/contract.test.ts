/**
 * Contract tests: emulator replies checked against the Swagger definitions and example replies
 * in /work/shared/azure-examples (see contract-checker.ts), and proof that the check catches a
 * deliberately mis-shaped reply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../source/sandbox/index.js';
import { ContractChecker } from './contract-checker.js';
import { clients, createVm, fast, ids, raw, start } from './helpers.js';

const checker = new ContractChecker();
const ex = ContractChecker.example;
const SYN = '?api-version=2021-06-01';
const IRV = '?api-version=2021-06-01-preview';
const DEV = '?api-version=2020-12-01';

describe('replies match the published contract', () => {
  let sb: SandboxHandle;
  let i: ReturnType<typeof ids>;
  const replies: Record<string, any> = {};

  beforeAll(async () => {
    sb = await start({ scenario: 'F07' });
    i = ids(sb);
    const get = async (key: string, path: string, method = 'GET', body?: unknown) => {
      replies[key] = (await raw(sb, method, path, { body })).body;
    };
    const sub = `/subscriptions/${sb.target.subscriptionId}`;
    await get('workspace', `${i.ws}${SYN}`);
    await get('workspacesRg', `${i.rg}/providers/Microsoft.Synapse/workspaces${SYN}`);
    await get('workspacesSub', `${sub}/providers/Microsoft.Synapse/workspaces${SYN}`);
    await get('irManaged', `${i.ir('AutoResolveIntegrationRuntime')}${IRV}`);
    await get('irSelfHosted', `${i.ir('shir-etl')}${IRV}`);
    await get('irList', `${i.ws}/integrationRuntimes${IRV}`);
    await get('irCreate', `${i.ir('ir-new')}${IRV}`, 'PUT', { properties: { type: 'SelfHosted',
      description: 'new' } });
    await get('status', `${i.ir('shir-etl')}/getStatus${IRV}`, 'POST');
    await get('statusManaged', `${i.ir('AutoResolveIntegrationRuntime')}/getStatus${IRV}`, 'POST');
    await get('keys', `${i.ir('shir-etl')}/listAuthKeys${IRV}`, 'POST');
    await get('regen', `${i.ir('shir-etl')}/regenerateAuthKey${IRV}`, 'POST',
      { keyName: 'authKey2' });
    await get('node', `${i.ir('shir-etl')}/nodes/vm-shir-01${IRV}`);
    for (const ls of ['RestService', 'PartnerFiles', `${sb.target.workspaceName}-` +
      'WorkspaceDefaultStorage']) {
      await get(`ls:${ls}`, `${i.dev}/linkedservices/${ls}${DEV}`);
    }
    await get('lsList', `${i.dev}/linkedservices${DEV}`);
    await get('pipeline', `${i.dev}/pipelines/CallPartnerApi${DEV}`);
    await get('createRun', `${i.dev}/pipelines/CallPartnerApi/createRun${DEV}`, 'POST', {});
    const runId = replies.createRun.runId;
    for (let n = 0; n < 100; n++) {
      await get('run', `${i.dev}/pipelineruns/${runId}${DEV}`);
      if (replies.run.status === 'Failed') break;
    }
    await get('activities', `${i.dev}/pipelines/CallPartnerApi/pipelineruns/${runId}/` +
      `queryActivityruns${DEV}`, 'POST', {});
    await get('error', `${i.dev}/linkedservices/Nope${DEV}`);
    await get('vm', `${i.vm('vm-shir-01')}?api-version=2026-03-01`);
  });
  afterAll(async () => { await sb?.close(); });

  const cases: Array<[string, string, string, string, string?]> = [
    ['workspace', 'workspace.json', 'Workspace', 'synapse-arm/GetWorkspace.json'],
    ['workspacesRg', 'workspace.json', 'WorkspaceInfoListResult',
      'synapse-arm/ListWorkspacesInResourceGroup.json'],
    ['workspacesSub', 'workspace.json', 'WorkspaceInfoListResult',
      'synapse-arm/ListWorkspacesInSubscription.json'],
    ['irManaged', 'integrationRuntime.json', 'IntegrationRuntimeResource',
      'synapse-arm/IntegrationRuntimes_Get.json'],
    ['irSelfHosted', 'integrationRuntime.json', 'IntegrationRuntimeResource',
      'synapse-arm/IntegrationRuntimes_Get.json'],
    ['irList', 'integrationRuntime.json', 'IntegrationRuntimeListResponse',
      'synapse-arm/IntegrationRuntimes_ListByWorkspace.json'],
    ['irCreate', 'integrationRuntime.json', 'IntegrationRuntimeResource',
      'synapse-arm/IntegrationRuntimes_Create.json'],
    ['status', 'integrationRuntime.json', 'IntegrationRuntimeStatusResponse',
      'synapse-arm/IntegrationRuntimes_GetStatus.json'],
    ['statusManaged', 'integrationRuntime.json', 'IntegrationRuntimeStatusResponse',
      'synapse-arm/IntegrationRuntimes_GetStatus.json'],
    ['keys', 'integrationRuntime.json', 'IntegrationRuntimeAuthKeys',
      'synapse-arm/IntegrationRuntimes_ListAuthKeys.json'],
    ['regen', 'integrationRuntime.json', 'IntegrationRuntimeAuthKeys',
      'synapse-arm/IntegrationRuntimes_RegenerateAuthKey.json'],
    ['node', 'integrationRuntime.json', 'SelfHostedIntegrationRuntimeNode',
      'synapse-arm/IntegrationRuntimeNodes_Get.json'],
    ['ls:RestService', 'artifacts.json', 'LinkedServiceResource',
      'synapse-dev/LinkedServices_Get.json'],
    ['ls:PartnerFiles', 'artifacts.json', 'LinkedServiceResource',
      'synapse-dev/LinkedServices_Get.json'],
    ['lsList', 'artifacts.json', 'LinkedServiceListResponse',
      'synapse-dev/LinkedServices_ListByWorkspace.json'],
    ['pipeline', 'artifacts.json', 'PipelineResource', 'synapse-dev/Pipelines_Create.json'],
    ['createRun', 'artifacts.json', 'CreateRunResponse', 'synapse-dev/Pipelines_CreateRun.json',
      '202'],
    ['run', 'artifacts.json', 'PipelineRun', 'synapse-dev/PipelineRuns_Get.json'],
    ['activities', 'artifacts.json', 'ActivityRunsQueryResponse',
      'synapse-dev/ActivityRuns_QueryByPipelineRun.json'],
    ['error', 'artifacts.json', 'CloudError', 'synapse-arm/GetWorkspace.json', 'default'],
  ];

  it.each(cases)('%s matches %s#%s and its example', (key, file, def, example, status) => {
    expect(replies[key]).toBeDefined();
    expect(checker.check(file, def, replies[key], ex(example, status ?? '200'))).toEqual([]);
  });

  it('the published examples themselves pass the schema check', () => {
    for (const [, file, def, example, status] of cases) {
      const body = ex(example, status ?? '200');
      expect(checker.check(file, def, body).filter((f) => f.check === 'schema')).toEqual([]);
    }
  });

  it('a VM reply has the shape of the published VM example', () => {
    expect(checker.shapeAgainst(replies.vm, ex('compute/VirtualMachine_Get.json'))).toEqual([]);
  });

  it('catches deliberately mis-shaped replies', () => {
    const status = structuredClone(replies.status);
    status.properties.nodes = status.properties.typeProperties.nodes;
    delete status.properties.typeProperties.nodes;
    const found = checker.check('integrationRuntime.json', 'IntegrationRuntimeStatusResponse',
      status, ex('synapse-arm/IntegrationRuntimes_GetStatus.json'));
    expect(found.map((f) => `${f.check}:${f.path}`)).toContain('closed-world:/properties/nodes');

    const ls = structuredClone(replies['ls:RestService']);
    Object.assign(ls.properties, ls.properties.typeProperties);
    delete ls.properties.typeProperties;
    const lsFound = checker.check('artifacts.json', 'LinkedServiceResource', ls);
    expect(lsFound.map((f) => `${f.check}:${f.path}`)).toEqual(expect.arrayContaining([
      'schema:/properties', 'closed-world:/properties/url']));

    const run = { ...replies.run, status: 3 };
    expect(checker.check('artifacts.json', 'PipelineRun', run).some((f) =>
      f.check === 'schema' && f.path === '/status')).toBe(true);

    const vm = structuredClone(replies.vm);
    vm.properties.hardwareProfile = 'Standard_D4s_v5';
    expect(checker.shapeAgainst(vm, ex('compute/VirtualMachine_Get.json'))).not.toEqual([]);
  });
});

describe('compute and network replies have the shape of the published examples', () => {
  it('matches run command, NIC, subnet, VNet, NAT gateway and public IP examples',
    async () => {
      const sb = await start();
      const c = clients(sb);
      const i = ids(sb);
      const rg = sb.target.resourceGroup;
      await createVm(sb, c, 'vm-x');
      await c.compute.virtualMachineRunCommands.createOrUpdate(rg, 'vm-x', 'rc', {
        location: 'westeurope', source: { script: '# shir-doctor: inspect-runtime' } }, fast);
      const get = async (path: string) => (await raw(sb, 'GET', path)).body;
      const rc = await get(`${i.vm('vm-x')}/runCommands/rc?api-version=2026-03-01`);
      expect(checker.shapeAgainst(rc, ex('compute/VirtualMachineRunCommand_Get.json')))
        .toEqual([]);
      await c.network.publicIPAddresses.beginCreateOrUpdateAndWait(rg, 'pip', {
        location: 'westeurope', sku: { name: 'Standard' } }, fast);
      await c.network.natGateways.beginCreateOrUpdateAndWait(rg, 'nat', {
        location: 'westeurope', sku: { name: 'Standard' },
        publicIpAddresses: [{ id: i.net('publicIPAddresses', 'pip') }] }, fast);
      const v = '?api-version=2025-05-01';
      const pairs: Array<[string, string]> = [
        [`${i.net('networkInterfaces', 'nic-vm-x')}${v}`, 'network/NetworkInterfaceCreate.json'],
        [`${i.net('virtualNetworks', 'vnet-vm-x')}/subnets/default${v}`,
          'network/SubnetCreate.json'],
        [`${i.net('virtualNetworks', 'vnet-vm-x')}${v}`, 'network/VirtualNetworkCreate.json'],
        [`${i.net('natGateways', 'nat')}${v}`, 'network/NatGatewayCreateOrUpdate.json'],
        [`${i.net('publicIPAddresses', 'pip')}${v}`, 'network/PublicIpAddressCreateDefaults.json'],
      ];
      for (const [path, example] of pairs) {
        expect([example, checker.shapeAgainst(await get(path), ex(example))])
          .toEqual([example, []]);
      }
      await sb.close();
    });
});
