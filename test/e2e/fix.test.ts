/**
 * End-to-end: the built CLI against the embedded sandbox, interactively in a real terminal
 * (tmux) and headless with --yes --json; then every artefact is searched for the auth key shape.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorEvent } from '../../source/engine/events.js';
import { planHasChanges } from '../../source/engine/types.js';
import { AUTH_KEY_PATTERN } from '../../source/wire/guest.js';
import { makeAuthKey } from '../helpers/secrets.js';
import { CLI, ensureBuilt, readTree, runCli, shellQuote, Tmux } from './cli.js';

const TIMEOUT = 180_000;
/** Everything a user could see or keep, by name; searched for the auth key at the end. */
const artefacts: Record<string, string> = {};
const stateDirs: string[] = [];

beforeAll(ensureBuilt, TIMEOUT);

function parseEvents(stdout: string): DoctorEvent[] {
  return stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as DoctorEvent);
}

function finished(events: DoctorEvent[]): Extract<DoctorEvent, { type: 'session.finished' }> {
  const last = events.at(-1);
  if (last?.type !== 'session.finished') throw new Error(`last event is ${last?.type}`);

  return last;
}

describe('fix in a real terminal', () => {
  const tmux = new Tmux();

  afterAll(() => tmux.killServer());

  it('asks for approval, applies on y and ends with the API test passed', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-e2e-tty-'));
    stateDirs.push(stateDir);
    const cli = [process.execPath, CLI, 'fix', '--sandbox', '--sandbox-reset', '--time-scale', '0',
      '--state-dir', stateDir].map(shellQuote).join(' ');
    await tmux.start('fix', `env -u CI ${cli}; echo "[exit $?]"; sleep 600`);

    const prompt = await tmux.waitFor('fix', /Apply this plan\? \[y\/n\]/);
    expect(prompt).toMatch(/Plan: \d+ to create, \d+ to update, \d+ to delete/);
    await tmux.sendKeys('fix', 'y');
    const screen = await tmux.waitFor('fix', /\[exit \d+\]/);
    artefacts['tty screen'] = screen;

    expect(screen).toContain('[exit 0]');
    expect(screen).toContain('End-to-end API test passed through the self-hosted integration');
    expect(screen).toMatch(/Fixed \(exit 0\)/);
  }, TIMEOUT);
});

describe('declining in a real terminal', () => {
  const tmux = new Tmux();

  afterAll(() => tmux.killServer());

  it('does not apply on Enter, and n declines with exit 6', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-e2e-no-'));
    stateDirs.push(stateDir);
    const cli = [process.execPath, CLI, 'fix', '--sandbox', '--sandbox-reset', '--time-scale', '0',
      '--state-dir', stateDir].map(shellQuote).join(' ');
    await tmux.start('no', `env -u CI ${cli}; echo "[exit $?]"; sleep 600`);
    await tmux.waitFor('no', /Apply this plan\? \[y\/n\]/);

    // Had Enter approved, the n would arrive too late to matter and the run would exit 0.
    await tmux.sendKeys('no', 'Enter');
    await tmux.sendKeys('no', 'n');
    const screen = await tmux.waitFor('no', /\[exit \d+\]/);
    artefacts['declined screen'] = screen;

    expect(screen).toContain('[exit 6]');
    expect(screen).toContain('Plan not applied.');
    expect(screen.match(/nothing (was )?changed/g)).toHaveLength(1);
    expect(screen).not.toMatch(/^Steps$/m);
  }, TIMEOUT);
});

describe('fix headless with --yes --json', () => {
  let stateDir = '';

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'shir-e2e-json-'));
    stateDirs.push(stateDir);
  });

  it('writes only JSON events on stdout, fixes the workspace and exits 0', async () => {
    const args = ['fix', '--sandbox', '--sandbox-reset', '--time-scale', '0', '--yes', '--json',
      '--state-dir', stateDir];
    const run = await runCli(args);
    artefacts['first stdout'] = run.stdout;
    artefacts['first stderr'] = run.stderr;
    const events = parseEvents(run.stdout);
    const types = events.map((event) => event.type);

    expect(run.code, run.stderr).toBe(0);
    expect(types[0]).toBe('session.started');
    expect(types).toContain('finding');
    expect(types.indexOf('plan.ready')).toBeGreaterThan(types.indexOf('finding'));
    expect(types.indexOf('step.started')).toBeGreaterThan(types.indexOf('plan.ready'));
    expect(types).toContain('step.succeeded');
    expect(types).not.toContain('step.failed');
    expect(finished(events).summary.outcome).toBe('fixed');
    expect(finished(events).summary.isApiReachable).toBe(true);
  }, TIMEOUT);

  it('finds nothing to change on a second run', async () => {
    const args = ['fix', '--sandbox', '--time-scale', '0', '--yes', '--json',
      '--state-dir', stateDir];
    const run = await runCli(args);
    artefacts['second stdout'] = run.stdout;
    artefacts['second stderr'] = run.stderr;
    const events = parseEvents(run.stdout);
    const plan = events.find((event) => event.type === 'plan.ready');

    expect(run.code, run.stderr).toBe(0);
    expect(plan?.type === 'plan.ready' && planHasChanges(plan.plan)).toBe(false);
    expect(events.some((event) => event.type === 'step.started')).toBe(false);
    expect(finished(events).summary.outcome).toBe('healthy');
  }, TIMEOUT);
});

describe('artefacts', () => {
  it('never contain anything shaped like an auth key', async () => {
    for (const dir of stateDirs) {
      const files = await readTree(dir);
      // The emulator's own world (sandbox/) stands in for Azure, which does hold the key.
      for (const [path, text] of Object.entries(files)) {
        if (!path.startsWith(join(dir, 'sandbox'))) artefacts[path] = text;
      }
    }
    const leaks = Object.entries(artefacts)
      .filter(([, text]) => new RegExp(AUTH_KEY_PATTERN.source).test(text))
      .map(([name]) => name);

    expect(Object.keys(artefacts).length).toBeGreaterThan(4);
    expect(new RegExp(AUTH_KEY_PATTERN.source).test(makeAuthKey())).toBe(true);
    expect(leaks).toEqual([]);
  });
});
