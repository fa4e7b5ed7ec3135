/**
 * Field scenarios about the main job, the rewire and the proof: F01 (end to end), F16 (secrets,
 * parameters and annotations kept byte for byte), F18 (a slow API is a timeout, not a runtime
 * failure) and F20 (throttling and a 500 during polling: no lost or duplicated change).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';

import { readJournal } from '../../source/engine/journal.js';
import {
  findings,
  planItems,
  run,
  runtimeState,
  startedSteps,
  startScenario,
  stored,
  variant,
  writes,
  type LoggedRequest,
  type ScenarioBox,
} from './harness.js';

let box: ScenarioBox | undefined;

afterEach(async () => {
  await box?.cleanup();
  box = undefined;
});

function indexOf(requests: LoggedRequest[], method: string, path: RegExp): number {
  return requests.findIndex((request) => request.method === method && path.test(request.path));
}

function runIdsOf(requests: LoggedRequest[]): string[] {
  return requests
    .filter((request) => request.method === 'POST' && /\/createRun$/.test(request.path))
    .map((request) => (request.reply as { runId: string }).runId);
}

describe('F01: the main job', () => {
  it('detects, plans, hosts, installs, registers, rewires and proves with a real run',
    async () => {
      box = await startScenario('F01');
      const ws = box.target.workspaceName;

      const result = await run(box, 'fix');

      expect(result.summary.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      expect(result.summary.outcome).toBe('fixed');
      expect(result.summary.isApiReachable).toBe(true);
      expect(findings(result.ui).map((finding) => finding.id)).toContain('workspace.dep-locked');
      expect(planItems(result.ui).filter((item) => item.action === 'update')
        .map((item) => item.name)).toEqual(['RestService', 'PartnerFiles', 'CallPartnerApi']);
      expect(startedSteps(result.ui)).toEqual(expect.arrayContaining(
        ['network', 'runtime', 'vm', 'probe', 'install', 'online', 'backup', 'rewire', 'prove']));

      // Host and register: the node the product installed is Online on the new runtime.
      const nodes = runtimeState(box, 'shir-doctor-ir').nodes;
      expect(nodes.map((node: any) => [node.nodeName, node.status]))
        .toEqual([['shir-doctor-vm', 'Online']]);

      // Rewire: every affected connection now runs on the SHIR.
      expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
        .toBe('shir-doctor-ir');
      expect(stored(box, 'linkedservices', 'PartnerFiles').connectVia.referenceName)
        .toBe('shir-doctor-ir');
      expect(stored(box, 'pipelines', 'CallPartnerApi').activities[0].typeProperties
        .connectVia.referenceName).toBe('shir-doctor-ir');

      // Order: install before rewire before the proving run.
      const log = box.requests();
      const install = indexOf(log, 'PUT', /\/runCommands\/shir-doctor-install$/);
      const rewire = indexOf(log, 'PUT', new RegExp(`^/dev/${ws}/linkedservices/RestService$`));
      const proof = indexOf(log, 'POST', /\/createRun$/);
      expect(install).toBeGreaterThan(-1);
      expect(rewire).toBeGreaterThan(install);
      expect(proof).toBeGreaterThan(rewire);

      // Prove: the final pipeline run went through the SHIR and succeeded.
      const [runId] = runIdsOf(log);
      const pipelineRun = box.sandbox.peek(`/dev/${ws}/pipelineruns/${runId}`) as any;
      expect(pipelineRun.status).toBe('Succeeded');
      expect(pipelineRun.activities.map((activity: any) =>
        [activity.runtimeName, activity.status])).toEqual([['shir-doctor-ir', 'Succeeded']]);
    });

  it('a second run changes nothing and verify passes every check', async () => {
    box = await startScenario('F01');
    expect((await run(box, 'fix')).exitCode).toBe(0);
    const writesAfterFix = writes(box).length;

    const rerun = await run(box, 'fix');
    const verified = await run(box, 'verify');

    expect(rerun.summary.outcome).toBe('healthy');
    expect(writes(box).slice(writesAfterFix).filter((request) =>
      !/shir-doctor-(e2e|verify|probe|inspect)/.test(request.path))).toEqual([]);
    const failing = verified.ui.events.filter((event) => event.type === 'check' &&
      !event.isPassing);
    expect(failing).toEqual([]);
    expect(verified.summary.error).toBeUndefined();
    expect(verified.exitCode).toBe(0);
  });
});

describe('F16: a linked service with secrets, parameters and annotations', () => {
  const name = 'PartnerFiles';

  it('changes only connectVia; the stored secrets, parameters and annotations stay byte for byte',
    async () => {
      box = await startScenario('F16');
      const before = stored(box, 'linkedservices', name);

      const result = await run(box, 'fix');

      expect(result.summary.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      const after = stored(box, 'linkedservices', name);
      expect(after.connectVia).toEqual({ referenceName: 'shir-doctor-ir',
        type: 'IntegrationRuntimeReference' });
      const { connectVia: _was, ...restBefore } = before;
      const { connectVia: _now, ...restAfter } = after;
      expect(JSON.stringify(restAfter)).toBe(JSON.stringify(restBefore));
      expect(after.typeProperties.password.value).toBe('Partner-Files-Pa55!');
      expect(after.typeProperties.authHeaders['x-partner-tenant'].value)
        .toBe('tenant-7781-secret');
      expect(JSON.stringify(after)).not.toContain('**********');
      // The product itself read the definition back after writing it.
      const log = box.requests();
      const path = `/dev/${box.target.workspaceName}/linkedservices/${name}`;
      const put = log.findIndex((request) => request.method === 'PUT' && request.path === path);
      expect(put).toBeGreaterThan(-1);
      expect(log.slice(put + 1).some((request) => request.method === 'GET' &&
        request.path === path)).toBe(true);
    });

  it('a GET through the SDK after the PUT shows the same definition but for connectVia',
    async () => {
      box = await startScenario('F16');
      const devEndpoint = `${box.sandbox.endpoint}/dev/${box.target.workspaceName}`;
      const artifacts = box.clients.artifacts(devEndpoint);
      const before = await artifacts.linkedServiceOperations.getLinkedService(name);

      await run(box, 'fix');

      const after = await artifacts.linkedServiceOperations.getLinkedService(name);
      expect(after.properties.connectVia?.referenceName).toBe('shir-doctor-ir');
      expect(JSON.stringify({ ...after.properties, connectVia: 0 }))
        .toBe(JSON.stringify({ ...before.properties, connectVia: 0 }));
      expect(after.etag).not.toBe(before.etag);
    });
});

describe('F18: a slow API behind a Web activity that allows 5 minutes', () => {
  it('tests with a sane timeout and reports a timeout naming the API, not a runtime failure',
    async () => {
      box = await startScenario('F18');

      const result = await run(box, 'fix');

      expect(result.exitCode).toBe(5);
      expect(result.summary.error?.code).toBe('api-timeout');
      expect(result.summary.error?.what).toContain('api.partner.example');
      expect(result.summary.error?.what).toMatch(/did not answer within \d+ s/);
      expect(result.summary.error?.what).not.toMatch(/runtime (failed|is offline|error)/i);
      const testPipeline = box.requests().find((request) => request.method === 'PUT' &&
        /\/pipelines\/shir-doctor-e2e-/.test(request.path));
      const timeout = (testPipeline?.request as any).properties.activities[0].typeProperties
        .httpRequestTimeout as string;
      expect(toSeconds(timeout)).toBeLessThanOrEqual(60);
      // The route itself was fine: the node is Online and the links point at it.
      expect(runtimeState(box, 'shir-doctor-ir').nodes[0].status).toBe('Online');
    });
});

function toSeconds(timespan: string): number {
  const [hours, minutes, seconds] = timespan.split(':').map(Number);
  return hours * 3600 + minutes * 60 + seconds;
}

describe('F20: 429 with Retry-After on linked-service updates, a 500 while polling', () => {
  it('finishes with every change made exactly once and reports the retries', async () => {
    box = await startScenario('F20');
    const ws = box.target.workspaceName;

    const result = await run(box, 'fix');

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const retries = result.ui.events.filter((event) => event.type === 'retry');
    expect(retries.map((event) => event.type === 'retry' && event.statusCode))
      .toEqual(expect.arrayContaining([429, 500]));
    expect(result.summary.retries).toBe(retries.length);
    const report = readFileSync(result.summary.reportPaths.markdown ?? '', 'utf8');
    expect(report).toContain(`Azure calls were retried ${retries.length} time(s).`);

    // No lost change: each definition rewired; no duplicate: one accepted PUT each.
    for (const name of ['RestService', 'PartnerFiles']) {
      expect(stored(box, 'linkedservices', name).connectVia.referenceName).toBe('shir-doctor-ir');
      const accepted = box.requests().filter((request) => request.method === 'PUT' &&
        request.path === `/dev/${ws}/linkedservices/${name}` && request.status < 300);
      expect(accepted).toHaveLength(1);
    }
    const creates = box.requests().filter((request) => request.method === 'PUT' &&
      request.status < 300 && request.path.startsWith('/subscriptions/') &&
      !request.path.includes('/runCommands/'));
    const paths = creates.map((request) => request.path);
    expect(paths.length).toBeGreaterThan(5);
    expect(new Set(paths).size).toBe(paths.length);
    expect(result.summary.changes.updated).toEqual(
      ['linked-service RestService', 'linked-service PartnerFiles', 'pipeline CallPartnerApi']);
    const journal = await readJournal(journalDir(result.summary.reportPaths.json));
    const rewires = journal.changes.filter(({ change }) => change.action === 'update');
    expect(rewires.map(({ change }) => change.name).sort())
      .toEqual(['CallPartnerApi', 'PartnerFiles', 'RestService']);
  });
});

describe('F20 when the throttling outlasts the retries', () => {
  it('stops resumably; the rerun finishes; nothing is lost or done twice; rollback is exact',
    async () => {
      box = await startScenario(variant('F20', { faults: [{ method: 'PUT',
        path: '/linkedservices/RestService$', status: 429, retryAfter: 0, times: 5 }] }));
      const original = stored(box, 'linkedservices', 'RestService');

      const first = await run(box, 'fix');

      expect(first.exitCode).toBe(5);
      expect(first.summary.error?.code).toBe('throttled');
      expect(first.summary.error?.fix).toMatch(/rerun; the session resumes/);
      expect(first.summary.retries).toBeGreaterThanOrEqual(4);
      expect(stored(box, 'linkedservices', 'PartnerFiles').connectVia.referenceName)
        .toBe('shir-doctor-ir');

      const second = await run(box, 'fix');

      expect(second.summary.error).toBeUndefined();
      expect(second.exitCode).toBe(0);
      expect(stored(box, 'linkedservices', 'RestService').connectVia.referenceName)
        .toBe('shir-doctor-ir');
      const accepted = box.requests().filter((request) => request.method === 'PUT' &&
        request.status < 300 && !request.path.includes('/runCommands/') &&
        !request.path.includes('/pipelines/shir-doctor-e2e-')).map((request) => request.path);
      expect(accepted.filter((path, at) => accepted.indexOf(path) !== at)).toEqual([]);

      expect((await run(box, 'rollback')).exitCode).toBe(0);
      expect(JSON.stringify(stored(box, 'linkedservices', 'RestService')))
        .toBe(JSON.stringify(original));
    });
});

function journalDir(reportPath: string | undefined): string {
  expect(reportPath).toBeDefined();
  return reportPath!.replace(/\/report\.json$/, '');
}
