/**
 * Field scenarios (SCENARIOS.md) as the sandbox presents them to the tool.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../source/sandbox/index.js';
import { AUTH_KEY_PATTERN } from '../../source/wire/guest.js';
import {
  clients, fast, ids, provisionShir, raw, runPipelineOn, start, tempState,
} from './helpers.js';

let sb: SandboxHandle | undefined;
afterEach(async () => { await sb?.close(); sb = undefined; });

describe('pipelines and DEP', () => {
  it('F01: the partner call succeeds through a SHIR whose VM has egress', async () => {
    sb = await start();
    const c = clients(sb);
    await provisionShir(sb, c);
    const { run, activities } = await runPipelineOn(sb, 'CallPartnerApi', 'ir-e2e');
    expect(run.status).toBe('Succeeded');
    expect(activities[0].output.status).toBe('healthy');
    const del = await raw(sb, 'DELETE', `${ids(sb).ir('ir-e2e')}?api-version=2021-06-01-preview`);
    expect(del.status).toBe(400);
    expect(del.body.error.message).toContain("'CallPartnerApi'");
  });

  it('F02: an activity without connectVia runs on the managed runtime and fails', async () => {
    sb = await start({ scenario: 'F02' });
    expect(sb.peek(`${ids(sb).dev}/linkedservices/RestService`)).toBeUndefined();
    const { run } = await runPipelineOn(sb, 'PostPartnerOrders');
    expect(run.status).toBe('Failed');
    expect(run.message).toContain('PostOrders');
  });

  it('F03: a workspace without DEP reaches the partner API on the managed runtime',
    async () => {
      sb = await start({ scenario: 'F03' });
      const w = await clients(sb).synapse.workspaces.get(sb.target.resourceGroup,
        sb.target.workspaceName);
      expect(w.name).toBe('syn-contoso-mvnet-prod');
      expect(w.managedVirtualNetworkSettings).toBeUndefined();
      const { run, activities } = await runPipelineOn(sb, 'CallPartnerApi');
      expect(run.status).toBe('Succeeded');
      expect(activities[0].output.effectiveIntegrationRuntime)
        .toContain('AutoResolveIntegrationRuntime');
    });

  it('F18: a slow API is reported as a timeout naming the endpoint', async () => {
    sb = await start({ scenario: 'F18' });
    await provisionShir(sb, clients(sb));
    const patient = await runPipelineOn(sb, 'CallPartnerApi', 'ir-e2e');
    expect(patient.run.status).toBe('Succeeded');
    const hasty = await runPipelineOn(sb, 'CallPartnerApi', 'ir-e2e',
      { httpRequestTimeout: '00:00:30' });
    expect(hasty.run.status).toBe('Failed');
    expect(hasty.activities[0].error.message).toMatch(/timed out/);
    expect(hasty.activities[0].error.message).toContain('https://api.partner.example/v1/health');
  });

  it('F19: the pipeline call needs the runtime to be set up with the proxy', async () => {
    sb = await start({ scenario: 'F19' });
    await provisionShir(sb, clients(sb), 'ir-e2e', 'vm-e2e', 'http://proxy.contoso.local:3128');
    const { run } = await runPipelineOn(sb, 'CallPartnerApi', 'ir-e2e');
    expect(run.status).toBe('Succeeded');
  });

  it('F07b: a call through the SHIR fails on TLS inspection', async () => {
    sb = await start({ scenario: 'F07b' });
    await provisionShir(sb, clients(sb));
    const { run } = await runPipelineOn(sb, 'CallPartnerApi', 'ir-e2e');
    expect(run.status).toBe('Failed');
    expect(run.message).toMatch(/SSL connection could not be established/);
  });

  it('refuses a Web activity whose SHIR has no online node', async () => {
    sb = await start({ scenario: 'F14' });
    const { run } = await runPipelineOn(sb, 'CallPartnerApi', 'shir-etl');
    expect(run.status).toBe('Failed');
    expect(run.message).toMatch(/offline/);
  });
});

describe('workspace and runtime situations', () => {
  it('F05: shows a shared runtime with linkedInfo and refuses to create one', async () => {
    sb = await start({ scenario: 'F05' });
    const ir = await raw(sb, 'GET', `${ids(sb).ir('shir-shared-adf')}` +
      '?api-version=2021-06-01-preview');
    expect(ir.body.properties.typeProperties.linkedInfo.authorizationType).toBe('RBAC');
    const put = await raw(sb, 'PUT', `${ids(sb).ir('another')}?api-version=2021-06-01-preview`,
      { body: { properties: { type: 'SelfHosted', typeProperties: ir.body.properties
        .typeProperties } } });
    expect(put.status).toBe(400);
  });

  it('F08: the dev endpoint drops connections while ARM still answers', async () => {
    sb = await start({ scenario: 'F08' });
    const w = await raw(sb, 'GET', `${ids(sb).ws}?api-version=2021-06-01`);
    expect(w.body.properties.publicNetworkAccess).toBe('Disabled');
    await expect(raw(sb, 'GET', `${ids(sb).dev}/linkedservices?api-version=2020-12-01`))
      .rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it('F12: reports an expired node version, and update/upgrade fix it', async () => {
    sb = await start({ scenario: 'F12' });
    const c = clients(sb);
    const { resourceGroup: rg, workspaceName: ws } = sb.target;
    const st = (await c.synapse.integrationRuntimeStatusOperations.get(rg, ws, 'shir-etl'))
      .properties as any;
    expect(st).toMatchObject({ autoUpdate: 'Off', latestVersion: '5.44.8984.1',
      versionStatus: 'Expired' });
    expect(st.nodes[0]).toMatchObject({ version: '5.12.7976.1', versionStatus: 'Expired' });
    await c.synapse.integrationRuntimes.update(rg, ws, 'shir-etl', { autoUpdate: 'On' });
    await c.synapse.integrationRuntimes.upgrade(rg, ws, 'shir-etl');
    const after = (await c.synapse.integrationRuntimeStatusOperations.get(rg, ws, 'shir-etl'))
      .properties as any;
    expect(after.autoUpdate).toBe('On');
    expect(after.nodes[0]).toMatchObject({ version: '5.44.8984.1', versionStatus: 'UpToDate' });
  });

  it('F04 and F16: every SecureString is masked and known to the admin', async () => {
    for (const scenario of ['F04', 'F16']) {
      sb = await start({ scenario });
      const list = await raw(sb, 'GET', `${ids(sb).dev}/linkedservices?api-version=2020-12-01`);
      const text = JSON.stringify(list.body);
      expect(Object.keys(sb.adminSecrets).length).toBeGreaterThanOrEqual(3);
      for (const secret of Object.values(sb.adminSecrets)) expect(text).not.toContain(secret);
      await sb.close();
    }
    sb = await start({ scenario: 'F16' });
    const files = await raw(sb, 'GET', `${ids(sb).dev}/linkedservices/PartnerFiles` +
      '?api-version=2020-12-01');
    expect(files.body.properties.annotations).toEqual(['partner', 'files', 'pii']);
    expect(Object.keys(files.body.properties.parameters)).toEqual(['folder', 'retries']);
    expect(sb.adminSecrets['PartnerFiles:/typeProperties/authHeaders/x-partner-tenant'])
      .toBe('tenant-7781-secret');
  });
});

describe('faults and the request log', () => {
  it('F20: throttles linked-service writes and fails one poll; SDK retries get through',
    async () => {
      const log = join(tempState(), 'requests.jsonl');
      sb = await start({ scenario: 'F20', requestLogPath: log });
      const c = clients(sb);
      await c.network.networkSecurityGroups.beginCreateOrUpdateAndWait(sb.target.resourceGroup,
        'nsg-f20', { location: 'westeurope' }, fast);
      const w = await c.synapse.workspaces.get(sb.target.resourceGroup, sb.target.workspaceName);
      const art = c.artifacts(w.connectivityEndpoints?.dev as string);
      await art.linkedServiceOperations.beginCreateOrUpdateLinkedServiceAndWait('Extra',
        { properties: { type: 'AzureBlobFS', url: 'https://x.dfs.core.windows.net' } as any },
        fast);
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const statuses = lines.map((l) => `${l.method} ${l.status}`);
      expect(statuses.filter((s) => s === 'PUT 429')).toHaveLength(2);
      expect(statuses.filter((s) => s === 'GET 500')).toHaveLength(1);
      expect(lines.filter((l) => l.method === 'PUT' && /linkedservices\/Extra/.test(l.path))
        .map((l) => l.status)).toEqual([429, 429, 202]);
    });

  it('drops connections and delays from a fault file', async () => {
    const dir = tempState();
    const faults = join(dir, 'faults.json');
    writeFileSync(faults, JSON.stringify({ rules: [
      { method: 'GET', path: '/virtualNetworks/vnet-x$', drop: true, times: 1 },
      { method: 'GET', path: '/publicIPAddresses/pip-x$', status: 503, retryAfter: 0,
        code: 'ServiceUnavailable', times: -1 }] }));
    sb = await start({ faultsFile: faults });
    await expect(raw(sb, 'GET', `${ids(sb).net('virtualNetworks', 'vnet-x')}` +
      '?api-version=2025-05-01')).rejects.toThrow();
    const second = await raw(sb, 'GET', `${ids(sb).net('virtualNetworks', 'vnet-x')}` +
      '?api-version=2025-05-01');
    expect(second.status).toBe(404);
    for (let n = 0; n < 2; n++) {
      const res = await raw(sb, 'GET', `${ids(sb).net('publicIPAddresses', 'pip-x')}` +
        '?api-version=2025-05-01');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('ServiceUnavailable');
    }
  });

  it('throttles writes past the scenario\'s rate with 429 and Retry-After', async () => {
    const file = join(tempState(), 'throttled.json');
    writeFileSync(file, JSON.stringify({ id: 'T-throttle', extends: 'F01',
      throttle: { writes: 2, windowMs: 60_000, retryAfter: 7 } }));
    sb = await start({ scenario: file });
    const put = (n: number) => raw(sb!, 'PUT', `${ids(sb!).net('networkSecurityGroups',
      `nsg-${n}`)}?api-version=2025-05-01`, { body: { location: 'westeurope' } });
    expect((await put(1)).status).toBe(201);
    expect((await put(2)).status).toBe(201);
    const third = await put(3);
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('7');
    expect(third.body.error.code).toBe('TooManyRequests');
    const read = await raw(sb, 'GET', `${ids(sb).ws}?api-version=2021-06-01`);
    expect(read.status).toBe(200);
  });

  it('fails a long-running operation midway from a fault rule', async () => {
    const dir = tempState();
    const faults = join(dir, 'faults.json');
    writeFileSync(faults, JSON.stringify([{ method: 'GET', path: 'operationStatuses', skip: 1,
      status: 200, body: { status: 'Failed', error: { code: 'AllocationFailed',
        message: 'Allocation failed in the sandbox.' } } }]));
    sb = await start({ faultsFile: faults });
    const err = await clients(sb).network.networkSecurityGroups.beginCreateOrUpdateAndWait(
      sb.target.resourceGroup, 'nsg-x', { location: 'westeurope' }, fast).catch((e) => e);
    expect(String(err.message)).toMatch(/AllocationFailed/);
  });

  it('keeps auth keys, secrets and tokens out of the request log', async () => {
    const log = join(tempState(), 'requests.jsonl');
    sb = await start({ requestLogPath: log });
    const c = clients(sb);
    await provisionShir(sb, c);
    await c.synapse.integrationRuntimeAuthKeysOperations.list(sb.target.resourceGroup,
      sb.target.workspaceName, 'ir-e2e');
    const secret = sb.adminSecrets['RestService:/typeProperties/authHeaders/x-api-key'];
    const ls = await raw(sb, 'GET', `${ids(sb).dev}/linkedservices/RestService` +
      '?api-version=2020-12-01');
    ls.body.properties.typeProperties.authHeaders['x-api-key'].value = secret;
    await raw(sb, 'PUT', `${ids(sb).dev}/linkedservices/RestService?api-version=2020-12-01`,
      { body: { properties: ls.body.properties } });

    const text = readFileSync(log, 'utf8');
    expect(text).toContain('listAuthKeys');
    expect(text).toContain('protectedParameters');
    expect(text).not.toMatch(AUTH_KEY_PATTERN);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(sb.clientSecret);
    expect(text).not.toMatch(/"access_token":"ey/);
    expect(text).not.toMatch(/Bearer /);
  });

  it('names each exchange by operation and counts them per operation on close', async () => {
    const log = join(tempState(), 'requests.jsonl');
    sb = await start({ requestLogPath: log });
    const c = clients(sb);
    for (const name of ['RestService', 'PartnerFiles']) {
      await raw(sb, 'GET', `${ids(sb).dev}/linkedservices/${name}?api-version=2020-12-01`);
    }
    await c.synapse.workspaces.get(sb.target.resourceGroup, sb.target.workspaceName);
    await sb.close();
    sb = undefined;

    const lines = readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const getLinkedService = 'GET /dev/{}/linkedservices/{}';
    expect(lines.filter((line) => line.operation === getLinkedService)).toHaveLength(2);
    const { summary } = lines.at(-1);
    expect(summary.counts[getLinkedService]).toBe(2);
    expect(summary.counts['GET /subscriptions/{}/resourcegroups/{}/providers/' +
      'microsoft.synapse/workspaces/{}']).toBe(1);
    expect(summary.total).toBe(lines.length - 1);
  });
});
