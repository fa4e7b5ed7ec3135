import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../source/sandbox/index.js';
import { clients, fast, ids, raw, start } from './helpers.js';

const V = '?api-version=2020-12-01';

describe('dev endpoint', () => {
  let sb: SandboxHandle;
  let dev: string;
  beforeAll(async () => {
    sb = await start({ pageSize: 2 });
    dev = ids(sb).dev;
  });
  afterAll(async () => { await sb?.close(); });

  async function art() {
    const c = clients(sb);
    const w = await c.synapse.workspaces.get(sb.target.resourceGroup, sb.target.workspaceName);
    return c.artifacts(w.connectivityEndpoints?.dev as string);
  }

  it('masks SecureStrings on GET and pages linked services', async () => {
    const names = [];
    for await (const ls of (await art()).linkedServiceOperations.listLinkedServicesByWorkspace()) {
      names.push(ls.name);
      expect(JSON.stringify(ls)).not.toContain('pk-demo-5f1e0c9b7a3d42e8b6c1');
    }
    expect(names).toHaveLength(3);
    const first = await raw(sb, 'GET', `${dev}/linkedservices${V}`);
    expect(first.body.nextLink).toContain('api-version=2020-12-01');
    const one = await raw(sb, 'GET', `${dev}/linkedservices/RestService${V}`);
    expect(one.body.properties.typeProperties.authHeaders['x-api-key'])
      .toEqual({ type: 'SecureString', value: '**********' });
    expect(one.body.type).toBe('Microsoft.Synapse/workspaces/linkedservices');
  });

  it('stores the mask literally when a GET body is written back (the secret is lost)',
    async () => {
      const got = await raw(sb, 'GET', `${dev}/linkedservices/PartnerFiles${V}`);
      const put = await raw(sb, 'PUT', `${dev}/linkedservices/PartnerFiles${V}`,
        { body: { properties: got.body.properties } });
      expect(put.status).toBe(202);
      const stored = sb.peek(`${dev}/linkedservices/PartnerFiles`) as any;
      expect(stored.properties.typeProperties.password.value).toBe('**********');
    });

  it('polls a PUT through operationResults: 202 InProgress, then 200 with the resource',
    async () => {
      const got = await raw(sb, 'GET', `${dev}/linkedservices/RestService${V}`);
      const put = await raw(sb, 'PUT', `${dev}/linkedservices/RestService${V}`,
        { body: { properties: { ...got.body.properties, description: 'changed' } } });
      expect(put.status).toBe(202);
      const location = put.headers.location;
      expect(location).toMatch(new RegExp(`^${sb.endpoint}${dev}/operationResults/.+` +
        'api-version=2020-12-01'));
      expect(put.headers['retry-after']).toBe('0');
      const p1 = await raw(sb, 'GET', location);
      expect(p1.status).toBe(202);
      expect(p1.body.status).toBe('InProgress');
      const p2 = await raw(sb, 'GET', location);
      expect(p2.status).toBe(200);
      expect(p2.body.properties.description).toBe('changed');
    });

  it('checks If-Match against the ETag and answers 412 on mismatch', async () => {
    const a = await art();
    const ls = await a.linkedServiceOperations.getLinkedService('RestService');
    const body = { properties: { type: 'RestService', typeProperties: { url: 'https://x' } } };
    const stale = await raw(sb, 'PUT', `${dev}/linkedservices/RestService${V}`,
      { body, headers: { 'if-match': '"0000-stale"' } });
    expect(stale.status).toBe(412);
    const ok = await raw(sb, 'PUT', `${dev}/linkedservices/RestService${V}`,
      { body: { properties: ls.properties }, headers: { 'if-match': ls.etag as string } });
    expect(ok.status).toBe(202);
    const after = await a.linkedServiceOperations.getLinkedService('RestService');
    expect(after.etag).not.toBe(ls.etag);
  });

  it('refuses a connectVia to a runtime that does not exist', async () => {
    const res = await raw(sb, 'PUT', `${dev}/linkedservices/Broken${V}`, { body: { properties: {
      type: 'RestService', typeProperties: { url: 'https://x' },
      connectVia: { referenceName: 'no-such-ir', type: 'IntegrationRuntimeReference' } } } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('no-such-ir');
  });

  it('creates, reads and deletes a pipeline through the SDK', async () => {
    const a = await art();
    await a.pipelineOperations.beginCreateOrUpdatePipelineAndWait('Tmp', { activities: [] },
      fast);
    expect((await a.pipelineOperations.getPipeline('Tmp')).name).toBe('Tmp');
    await a.pipelineOperations.beginDeletePipelineAndWait('Tmp', fast);
    await expect(a.pipelineOperations.getPipeline('Tmp')).rejects.toMatchObject({
      statusCode: 404 });
  });

  it('runs a pipeline Queued → InProgress → Failed on the DEP-locked managed runtime',
    async () => {
      const slow = await start({ timeScale: 1 });
      const created = await raw(slow, 'POST', `${ids(slow).dev}/pipelines/CallPartnerApi/` +
        `createRun${V}`, { body: {} });
      expect(created.status).toBe(202);
      const runPath = `${ids(slow).dev}/pipelineruns/${created.body.runId}${V}`;
      const seen = new Set<string>();
      for (let i = 0; i < 300 && !seen.has('Failed'); i++) {
        seen.add((await raw(slow, 'GET', runPath)).body.status);
        await new Promise((r) => setTimeout(r, 50));
      }
      const order = ['Queued', 'InProgress', 'Failed'];
      expect([...seen]).toEqual(order.filter((s) => seen.has(s)));
      expect(seen.has('InProgress')).toBe(true);
      const acts = await raw(slow, 'POST', `${ids(slow).dev}/pipelines/CallPartnerApi/` +
        `pipelineruns/${created.body.runId}/queryActivityruns${V}`, { body: {} });
      expect(acts.body.value[0].error.errorCode).toBe('2108');
      expect(acts.body.value[0].status).toBe('Failed');
      // The activity's own times: it ran for a while after the queue, never for 0 ms.
      const activity = acts.body.value[0];
      expect(activity.durationInMs).toBeGreaterThan(0);
      expect(Date.parse(activity.activityRunEnd) - Date.parse(activity.activityRunStart))
        .toBe(activity.durationInMs);
      await slow.close();
    });
});
