import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { createEventBus, createMemorySink } from '../../source/engine/bus.js';
import type { EventInput, SessionSummary } from '../../source/engine/events.js';
import { openJournal } from '../../source/engine/journal.js';
import { clearSecrets, registerSecret } from '../../source/engine/redact.js';
import type { Target } from '../../source/engine/types.js';
import { buildReport, writeReports, type ReportData } from '../../source/report/index.js';
import { makeAuthKey, scanForLeaks } from '../helpers/secrets.js';

const target: Target = {
  subscriptionId: 'sub-1',
  resourceGroup: 'rg-data',
  workspaceName: 'syn-dep',
  apiUrl: 'https://api.partner.example/v1',
};
const dirs: string[] = [];

afterEach(() => {
  clearSecrets();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shir-report-'));
  dirs.push(dir);
  return dir;
}

/** Events of a fix session, stamped one second apart. */
function fixEvents(sessionId: string, extra: EventInput[] = []) {
  let second = 0;
  const memory = createMemorySink();
  const now = () => new Date(Date.UTC(2026, 11, 4, 17, 0, second++));
  const bus = createEventBus([memory.sink], { now });
  const inputs: EventInput[] = [
    {
      type: 'session.started',
      sessionId,
      command: 'fix',
      target,
      mode: 'sandbox',
      isResumed: false,
    },
    {
      type: 'finding',
      finding: {
        id: 'workspace.dep-locked',
        severity: 'problem',
        title: 'The workspace is DEP-locked',
        evidence: ['preventDataExfiltration = true', 'managedVirtualNetwork = default'],
        subject: 'syn-dep',
      },
    },
    {
      type: 'plan.ready',
      plan: {
        items: [
          {
            action: 'create',
            kind: 'integration-runtime',
            name: 'shir-doctor-ir',
            detail: 'SelfHosted',
            evidence: ['no self-hosted runtime'],
          },
          {
            action: 'update',
            kind: 'linked-service',
            name: 'RestService',
            detail: 'connectVia: AutoResolve | managed -> shir-doctor-ir',
            evidence: ['external API'],
          },
        ],
      },
    },
    { type: 'plan.approved', by: 'flag' },
    { type: 'step.started', stepId: 'runtime', title: 'Create the runtime' },
    {
      type: 'retry',
      operation: 'PUT /linkedservices/RestService',
      attempt: 1,
      statusCode: 429,
      delayMs: 1500,
    },
    {
      type: 'step.succeeded',
      stepId: 'runtime',
      summary: 'created shir-doctor-ir',
      elapsedMs: 2400,
    },
    { type: 'step.started', stepId: 'prove', title: 'Prove the API is reachable' },
    {
      type: 'step.failed',
      stepId: 'prove',
      elapsedMs: 61000,
      error: { code: 'api-timeout', what: 'The API timed out.', fix: 'Check it', exitCode: 5 },
    },
    { type: 'step.skipped', stepId: 'report', title: 'Report', reason: 'blocked by Prove' },
    { type: 'check', name: 'egress api.partner.example:443', isPassing: true, detail: '40 ms' },
    { type: 'log', level: 'warn', message: 'Node version is behind' },
    ...extra,
  ];
  for (const input of inputs) bus.emit(input);
  return memory.events;
}

function summary(overrides: Partial<SessionSummary> = {}): SessionSummary {
  return {
    outcome: 'fixed',
    headline: 'The API answered 200 through shir-doctor-ir in 0.4 s',
    isApiReachable: true,
    changes: {
      created: ['integration-runtime shir-doctor-ir'],
      updated: ['linked-service RestService'],
      deleted: [],
    },
    reportPaths: {},
    nextCommands: ['shir-doctor verify --workspace syn-dep'],
    retries: 1,
    ...overrides,
  };
}

describe('writeReports', () => {
  it('writes a Markdown report with everything a change ticket needs', async () => {
    const stateDir = tempDir();
    const journal = await openJournal({ stateDir, target, command: 'fix' });
    await journal.backup('linked-service', 'RestService', '{"name":"RestService"}', 'W/"7"');
    const id = await journal.intend({
      action: 'create',
      kind: 'virtual-machine',
      name: 'vm-shir',
      resourceId: '/subscriptions/sub-1/vm-shir',
    });
    void id;
    const events = fixEvents(journal.sessionId);

    const paths = await writeReports({
      directory: journal.directory,
      target,
      events,
      summary: summary(),
    });
    await journal.close();
    const md = readFileSync(paths.markdown, 'utf8');

    expect(paths.markdown).toBe(join(journal.directory, 'report.md'));
    expect(md).toContain('# shir-doctor report: syn-dep');
    expect(md).toContain('`rg-data`');
    expect(md).toContain('**fixed**: The API answered 200 through shir-doctor-ir in 0.4 s');
    expect(md).toContain('evidence: `preventDataExfiltration = true`');
    expect(md).toContain('1 to create, 1 to update, 0 to delete, 0 kept. Approved by flag.');
    expect(md).toContain('AutoResolve \\| managed');
    expect(md).toContain('| Create the runtime | succeeded | 2.4 s | created shir-doctor-ir |');
    expect(md).toMatch(/\| Prove the API is reachable \| failed \| 61\.0 s \| The API timed out/);
    expect(md).toContain('| Report | skipped |  | blocked by Prove |');
    expect(md).toContain('`integration-runtime shir-doctor-ir`');
    expect(md).toContain('RestService.json');
    expect(md).toContain('ETag `W/"7"`');
    expect(md).toContain('create virtual-machine `vm-shir`');
    expect(md).toContain(
      `shir-doctor rollback --sandbox --state-dir ${stateDir} --session ${journal.sessionId}`,
    );
    expect(md).toContain('--delete-created');
    expect(md).toContain('| `PUT /linkedservices/RestService` | 1 | 429 | 1.5 s |');
    expect(md).toContain('- Node version is behind');
    expect(md).toContain('shir-doctor verify --workspace syn-dep');
  });

  it('writes the same data as JSON', async () => {
    const directory = tempDir();
    const events = fixEvents('s-1');

    const paths = await writeReports({ directory, target, events, summary: summary() });
    const data = JSON.parse(readFileSync(paths.json, 'utf8')) as ReportData;

    expect(data.reportVersion).toBe(1);
    expect(data.session).toMatchObject({ id: 's-1', command: 'fix', mode: 'sandbox' });
    expect(data.session.durationMs).toBeGreaterThan(0);
    expect(data.outcome).toBe('fixed');
    expect(data.findings[0].id).toBe('workspace.dep-locked');
    expect(data.plan?.items).toHaveLength(2);
    expect(data.steps.map((s) => [s.id, s.status])).toEqual([
      ['runtime', 'succeeded'],
      ['prove', 'failed'],
      ['report', 'skipped'],
    ]);
    expect(data.steps[1].error?.code).toBe('api-timeout');
    expect(data.retries.count).toBe(1);
    expect(data.checks[0].isPassing).toBe(true);
    expect(readdirSync(directory).sort()).toEqual(['report.json', 'report.md']);
  });

  it('never writes secrets or auth keys into either report', async () => {
    const directory = tempDir();
    const key = makeAuthKey();
    registerSecret('partner-api-key-123');
    const events = fixEvents('s-2', [
      { type: 'log', level: 'warn', message: `install output: ${key}` },
    ]);
    const failed = summary({
      outcome: 'failed',
      headline: 'Registration failed with partner-api-key-123',
      error: { code: 'x', what: `dmgcmd ${key}`, fix: 'retry', exitCode: 5 },
    });

    const paths = await writeReports({ directory, target, events, summary: failed });

    for (const path of [paths.markdown, paths.json]) {
      const text = readFileSync(path, 'utf8');
      expect(text).not.toContain(key);
      expect(text).not.toContain('partner-api-key-123');
      expect(text).toContain('[redacted]');
    }
    expect(scanForLeaks(directory, ['partner-api-key-123'])).toEqual([]);
    writeFileSync(join(directory, 'control.txt'), `leaked ${key}`);
    expect(scanForLeaks(directory)).toEqual(['control.txt']);
  });

  it('says plainly when nothing changed and offers no rollback', async () => {
    const directory = tempDir();
    const healthy = summary({
      outcome: 'healthy',
      headline: 'Nothing to change',
      changes: { created: [], updated: [], deleted: [] },
      retries: 0,
    });

    const paths = await writeReports({ directory, target, events: [], summary: healthy });
    const md = readFileSync(paths.markdown, 'utf8');

    expect(md).toContain('No changes were made.');
    expect(md).toContain('No definitions were backed up.');
    expect(md).toContain('None recorded.');
    expect(md).not.toContain('shir-doctor rollback');
    expect(md).not.toContain('## Retries');
  });
});

describe('buildReport', () => {
  it('gives an Azure rollback command with the target and the state folder', () => {
    const memory = createMemorySink();
    const bus = createEventBus([memory.sink]);
    bus.emit({
      type: 'session.started',
      sessionId: 's-9',
      command: 'fix',
      target,
      mode: 'azure',
      isResumed: true,
    });

    const data = buildReport({
      directory: join('/var/lib/shir doctor', 'sessions', 's-9'),
      target,
      events: memory.events,
      summary: summary(),
    });

    expect(data.rollbackCommand).toBe(
      "shir-doctor rollback --subscription sub-1 --resource-group rg-data --workspace syn-dep " +
        "--state-dir '/var/lib/shir doctor' --session s-9",
    );
  });

  it('shows a step that never finished as running', () => {
    const memory = createMemorySink();
    const bus = createEventBus([memory.sink]);
    bus.emit({ type: 'step.started', stepId: 'vm', title: 'Create the VM' });

    const data = buildReport({
      directory: '/x',
      target,
      events: memory.events,
      summary: summary({ outcome: 'interrupted' }),
    });

    expect(data.steps).toEqual([{ id: 'vm', title: 'Create the VM', status: 'running' }]);
  });
});
