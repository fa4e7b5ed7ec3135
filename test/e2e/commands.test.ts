/**
 * End-to-end: the other commands of the built CLI against the sandbox, headless with --json.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DoctorEvent } from '../../source/engine/events.js';
import { scanForLeaks } from '../helpers/secrets.js';
import { CLI, ensureBuilt, ROOT, runCli } from './cli.js';

const TIMEOUT = 180_000;

beforeAll(ensureBuilt, TIMEOUT);

function eventsOf(stdout: string): DoctorEvent[] {
  return stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as DoctorEvent);
}

function outcomeOf(events: DoctorEvent[]): string | undefined {
  const last = events.at(-1);

  return last?.type === 'session.finished' ? last.summary.outcome : undefined;
}

async function freshState(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'shir-e2e-cmd-'));
}

const sandbox = (stateDir: string, ...flags: string[]): string[] =>
  ['--sandbox', '--time-scale', '0', '--json', '--state-dir', stateDir, ...flags];

describe('scan and plan change nothing', () => {
  it('scan: exit 3 while the repair is needed, findings with evidence, no steps', async () => {
    const run = await runCli(['scan', ...sandbox(await freshState(), '--sandbox-reset')]);
    const events = eventsOf(run.stdout);
    const findings = events.filter((event) => event.type === 'finding');

    expect(run.code, run.stderr).toBe(3);
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((event) => event.type === 'finding' && event.finding.evidence.length > 0))
      .toBe(true);
    expect(events.some((event) => event.type.startsWith('step.'))).toBe(false);
    expect(outcomeOf(events)).toBe('unhealthy');
  }, TIMEOUT);

  it('scan: exit 4 on a workspace that is not DEP-locked (F03)', async () => {
    const run = await runCli(['scan', ...sandbox(await freshState(), '--scenario', 'F03')]);

    expect(run.code, run.stderr).toBe(4);
    expect(outcomeOf(eventsOf(run.stdout))).toBe('not-applicable');
  }, TIMEOUT);

  it('plan: shows the plan without applying it, twice in a row', async () => {
    const stateDir = await freshState();
    const first = await runCli(['plan', ...sandbox(stateDir)]);
    const second = await runCli(['plan', ...sandbox(stateDir)]);
    // The temporary test pipeline is named after the session; everything else must match.
    const lasting = [first, second].map((run) => {
      const ready = eventsOf(run.stdout).find((event) => event.type === 'plan.ready');
      const items = ready?.type === 'plan.ready' ? ready.plan.items : [];

      return items.filter((item) => item.kind !== 'test-pipeline');
    });

    expect(first.code, first.stderr).toBe(0);
    expect(lasting[0]?.some((item) => item.action === 'create')).toBe(true);
    expect(lasting[1]).toEqual(lasting[0]);
    expect(eventsOf(first.stdout).some((event) => event.type === 'step.started')).toBe(false);
  }, TIMEOUT);
});

describe('fix without --yes and without a terminal', () => {
  it('declines, names --yes and changes nothing', async () => {
    const stateDir = await freshState();
    const run = await runCli(['fix', ...sandbox(stateDir)]);
    const after = await runCli(['scan', ...sandbox(stateDir)]);

    expect(run.code).toBe(6);
    expect(run.stderr).toContain('--yes');
    expect(outcomeOf(eventsOf(run.stdout))).toBe('declined');
    expect(after.code).toBe(3);
  }, TIMEOUT);

  it('plain output says "nothing changed" once and suggests fix --yes', async () => {
    const stateDir = await freshState();
    const run = await runCli(['fix', '--sandbox', '--sandbox-reset', '--time-scale', '0',
      '--state-dir', stateDir]);
    const text = run.stdout + run.stderr;

    expect(run.code).toBe(6);
    expect(text.match(/nothing (was )?changed/g)).toHaveLength(1);
    expect(text).toMatch(/^Next: .* fix --yes --sandbox/m);
    expect(text).not.toMatch(/^Next: .* plan /m);
  }, TIMEOUT);
});

describe('--request-log', () => {
  it('writes every emulator exchange as a JSON line with no auth key in it', async () => {
    const stateDir = await freshState();
    const logPath = join(stateDir, 'requests.jsonl');
    const run = await runCli(['fix', ...sandbox(stateDir, '--sandbox-reset', '--yes',
      '--request-log', logPath)]);
    const text = await readFile(logPath, 'utf8');
    const entries = text.trimEnd().split('\n').map((line) => JSON.parse(line));

    expect(run.code, run.stderr).toBe(0);
    expect(entries.length).toBeGreaterThan(10);
    expect(entries.some((entry) => /integrationRuntimes/.test(entry.path))).toBe(true);
    expect(scanForLeaks(stateDir)).not.toContain('requests.jsonl');
  }, TIMEOUT);

  it('is a usage error naming the flag without --sandbox', async () => {
    const run = await runCli(['fix', '--subscription', 's', '--resource-group', 'g',
      '--workspace', 'w', '--request-log', '/tmp/never.jsonl']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--request-log');
  }, TIMEOUT);
});

describe('verify and rollback after a fix', () => {
  it('verify passes every check, rollback restores and deletes with --yes', async () => {
    const stateDir = await freshState();
    const fix = await runCli(['fix', ...sandbox(stateDir, '--yes')]);
    const finished = eventsOf(fix.stdout).at(-1);
    const next = finished?.type === 'session.finished' ? finished.summary.nextCommands : [];
    // The summary's next command, pasted as shown, checks the same sandbox (not Azure).
    expect(next).toEqual([`node dist/cli.js verify --sandbox --state-dir ${stateDir}`]);
    const verify = await runCli([...next[0].split(' ').slice(2), '--json', '--time-scale', '0']);
    const checks = eventsOf(verify.stdout).filter((event) => event.type === 'check');
    const refused = await runCli(['rollback', ...sandbox(stateDir, '--delete-created')]);
    const rollback = await runCli(['rollback', ...sandbox(stateDir, '--delete-created', '--yes')]);
    const scan = await runCli(['scan', ...sandbox(stateDir)]);

    expect(fix.code, fix.stderr).toBe(0);
    expect(verify.code, verify.stderr).toBe(0);
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((event) => event.type === 'check' && event.isPassing)).toBe(true);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes');
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(outcomeOf(eventsOf(rollback.stdout))).toBe('rolled-back');
    expect(scan.code).toBe(3);
  }, TIMEOUT);
});

describe('sandbox serve', () => {
  it('prints the endpoint and credentials as env lines and stops on Ctrl-C', async () => {
    const stateDir = await freshState();
    const child = spawn(process.execPath, [CLI, 'sandbox', 'serve', '--state-dir', stateDir], {
      cwd: ROOT,
    });
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('Ctrl-C')) resolve();
      });
      void exited.then(() => resolve());
    });
    child.kill('SIGINT');

    expect(stdout).toMatch(/^SHIR_DOCTOR_SANDBOX_URL=https:\/\/127\.0\.0\.1:\d+$/m);
    expect(stdout).toMatch(/^NODE_EXTRA_CA_CERTS=.+\.pem$/m);
    for (const name of ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET']) {
      expect(stdout).toMatch(new RegExp(`^${name}=\\S+$`, 'm'));
    }
    expect(await exited).toBe(0);
  }, TIMEOUT);
});
