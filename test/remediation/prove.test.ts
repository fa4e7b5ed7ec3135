import { getEventListeners } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  API_TIMEOUT,
  endToEndError,
  isTimeout,
  statusCodeOf,
  testPipelineProperties,
} from '../../source/remediation/prove.js';
import type { EndToEndResult } from '../../source/remediation/context.js';
import { runEndToEnd } from '../../source/remediation/prove.js';
import { fixSteps } from '../../source/remediation/session.js';
import { createMemoryJournal } from '../helpers/journal.js';
import { startTestSandbox } from '../helpers/sandbox.js';

const unreachable = "Error calling the endpoint 'https://api.partner.example/v1'. Response " +
  "status code: 'NA - Unknown'. More details: Exception message: 'NA - Unknown " +
  "[ClientSideException] A connection attempt failed'. This could happen because of an " +
  'underlying issue such as network connectivity, a DNS failure or a timeout.';
const slow = "Error calling the endpoint 'https://api.partner.example/v1'. Response status " +
  "code: 'NA - Unknown'. More details: Exception message: 'The request timed out after " +
  "00:00:30 (httpRequestTimeout)'.";

function result(overrides: Partial<EndToEndResult>): EndToEndResult {
  return { isPassing: false, status: 'failed', runtimeName: 'shir-doctor-ir',
    apiUrl: 'https://api.partner.example/v1/health', detail: 'x', ...overrides };
}

describe('the prove step in the fix graph', () => {
  it('waits for the rewire, the Online node and any runtime upgrade (which restarts it)', () => {
    const prove = fixSteps().find((step) => step.id === 'prove');

    expect([...(prove?.dependsOn ?? [])].sort()).toEqual(['online', 'rewire', 'runtime-update']);
  });
});

describe('the end-to-end test pipeline', () => {
  it('runs one Web activity on the SHIR with a 30 s HTTP timeout (F18)', () => {
    const properties = testPipelineProperties('shir-doctor-ir', 'https://api.example/x') as any;

    const activity = properties.activities[0];
    expect(activity.type).toBe('WebActivity');
    expect(activity.typeProperties.connectVia).toEqual({ referenceName: 'shir-doctor-ir',
      type: 'IntegrationRuntimeReference' });
    expect(activity.typeProperties.httpRequestTimeout).toBe(API_TIMEOUT);
    expect(API_TIMEOUT).toBe('00:00:30');
    expect(activity.typeProperties.url).toBe('https://api.example/x');
  });
});

describe('reading the run', () => {
  it('tells a timeout from a connection failure', () => {
    expect(isTimeout(slow)).toBe(true);
    expect(isTimeout(unreachable)).toBe(false);
  });

  it('reads the API status code from the output or the error', () => {
    expect(statusCodeOf({ output: { statusCode: 201 } })).toBe(201);
    expect(statusCodeOf({ error: { message: "Response status code: '404'. More details" } }))
      .toBe(404);
    expect(statusCodeOf({ error: { message: unreachable } })).toBeUndefined();
  });

  it('blames the slow API, by name, not the runtime, for a timeout', () => {
    const error = endToEndError(result({ status: 'timeout', detail: slow }));

    expect(error.info.code).toBe('api-timeout');
    expect(error.info.what).toContain('api.partner.example');
    expect(error.info.what).toContain('did not answer within 30 s');
    expect(error.info.why).toContain('the route works');
    expect(error.info.fix).toContain('--api-url');
  });

  it('reports other failures with the activity error', () => {
    const error = endToEndError(result({ status: 'failed', detail: unreachable }));

    expect(error.info.code).toBe('e2e-failed');
    expect(error.info.why).toBe(unreachable);
  });
});

describe('runEndToEnd against the emulator', () => {
  it('does not blame the API when shir-doctor stops waiting, and cleans up', async () => {
    const stuck = { method: 'GET', path: '/pipelineruns/[^/]+$', status: 200, times: -1,
      body: { runId: 'r', status: 'InProgress' } };
    const box = await startTestSandbox({ scenario: 'F01', faultsFile: writeFaults([stuck]) });
    try {
      const workspace = await box.clients.synapse.workspaces.get(box.target.resourceGroup,
        box.target.workspaceName);
      const dev = workspace.connectivityEndpoints!.dev!;
      const journal = createMemoryJournal('20261204-120000-abcd');
      const signal = new AbortController().signal;
      const progress: string[] = [];

      const outcome = await runEndToEnd({
        artifacts: box.clients.artifacts(dev), journal,
        runtimeName: 'AutoResolveIntegrationRuntime',
        apiUrl: 'https://api.partner.example/v1/health', devEndpoint: dev,
        progress: (message) => progress.push(message), signal,
        pollIntervalMs: 5, deadlineMs: 50,
      });

      expect(outcome.isPassing).toBe(false);
      expect(outcome.status).toBe('failed');
      expect(outcome.detail).toContain('stopped waiting');
      // One listener left per poll added up to a MaxListenersExceededWarning in a real run.
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      // Polled many times, the run's status is told once.
      expect(progress.filter((line) => line === 'pipeline run InProgress')).toHaveLength(1);
      const deletes = journal.entries.filter((entry) => entry.type === 'intent' &&
        entry.change.action === 'delete');
      expect(deletes.length).toBe(1);
      expect(box.sandbox.peek(`/dev/${box.target.workspaceName}/pipelines/` +
        'shir-doctor-e2e-0000abcd')).toBeUndefined();
    } finally {
      await box.cleanup();
    }
  }, 60_000);
});

function writeFaults(rules: unknown[]): string {
  const directory = mkdtempSync(join(tmpdir(), 'shir-faults-'));
  const path = join(directory, 'faults.json');
  writeFileSync(path, JSON.stringify(rules));
  return path;
}
