/**
 * A few field scenarios through the built CLI with --json, for what only the CLI decides: the
 * exit code, one JSON event per line on stdout, and the closing session.finished event.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { DoctorEvent } from '../../source/engine/events.js';
import { ensureBuilt, runCli, type CliRun } from '../e2e/cli.js';
import { filesUnder } from './harness.js';

const folders: string[] = [];

beforeAll(ensureBuilt, 180_000);
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

async function fix(scenario: string, ...extra: string[]): Promise<CliRun & {
  events: DoctorEvent[];
  stateDir: string;
}> {
  const stateDir = mkdtempSync(join(tmpdir(), `shir-cli-${scenario}-`));
  folders.push(stateDir);
  const cli = await runCli(['fix', '--sandbox', '--scenario', scenario, '--yes', '--json',
    '--time-scale', '0', '--state-dir', stateDir, ...extra]);
  const events = cli.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as DoctorEvent);
  return { ...cli, events, stateDir };
}

function finished(events: DoctorEvent[]): Extract<DoctorEvent, { type: 'session.finished' }> {
  const last = events.at(-1);
  if (last?.type !== 'session.finished') throw new Error(`last event is ${last?.type}`);
  return last;
}

function writesStarted(events: DoctorEvent[]): boolean {
  return events.some((event) => event.type === 'step.started');
}

describe('fix --json on the field scenarios', () => {
  it('F01: exit 0, the API test passed through the SHIR', async () => {
    const cli = await fix('F01');

    const end = finished(cli.events);
    expect(end.summary.error).toBeUndefined();
    expect(cli.code).toBe(0);
    expect(end.summary.error).toBeUndefined();
    expect(end.exitCode).toBe(0);
    expect(end.summary.outcome).toBe('fixed');
    expect(end.summary.isApiReachable).toBe(true);
  }, 120_000);

  it('F03: exit 4 (blocked), not DEP-locked, no step run', async () => {
    const cli = await fix('F03');

    expect(cli.code).toBe(4);
    expect(finished(cli.events).summary.outcome).toBe('not-applicable');
    expect(finished(cli.events).summary.headline).toMatch(/not DEP-locked/);
    expect(writesStarted(cli.events)).toBe(false);
  }, 120_000);

  it('F08: exit 4 before any change, naming the private endpoint remedy on stderr', async () => {
    const cli = await fix('F08');

    expect(cli.code).toBe(4);
    expect(finished(cli.events).summary.error?.code).toBe('dev-endpoint-unreachable');
    expect(writesStarted(cli.events)).toBe(false);
    expect(cli.stderr).toMatch(/private endpoint/);
  }, 120_000);

  it('F10b: exit 5 (apply failed) naming 1618 and its meaning', async () => {
    const cli = await fix('F10b');

    expect(cli.code).toBe(5);
    expect(finished(cli.events).summary.error?.what).toMatch(
      /1618 \(another installation is already in progress\)/);
  }, 120_000);

  it('F19: --proxy reaches the install; without it exit 4 says to pass --proxy', async () => {
    const password = ['Cli', 'Proxy', 'Pa55', 'word'].join('-');
    const without = await fix('F19');
    const withProxy = await fix('F19', '--proxy',
      `http://etl:${password}@proxy.contoso.example:3128`);

    expect(without.code).toBe(4);
    expect(finished(without.events).summary.error?.fix).toMatch(/--proxy/);
    expect(finished(withProxy.events).summary.error).toBeUndefined();
    expect(withProxy.code).toBe(0);
    expect(finished(withProxy.events).summary.outcome).toBe('fixed');
    const files = Object.entries(filesUnder(withProxy.stateDir))
      .filter(([path]) => !path.startsWith(join(withProxy.stateDir, 'sandbox')));
    const texts = [withProxy.stdout, withProxy.stderr, ...files.map(([, text]) => text)];
    expect(files.length).toBeGreaterThan(2);
    expect(texts.filter((text) => text.includes(password))).toEqual([]);
  }, 120_000);
});
