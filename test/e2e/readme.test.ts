/**
 * The README is the user's manual: what it says about files, flags and exit codes is checked
 * against the built CLI, so a line that drifts from the product fails here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, runCli } from './cli.js';

const TIMEOUT = 120_000;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

beforeAll(ensureBuilt, TIMEOUT);

/** The text of a `## title` section, up to the next heading of that level. */
function section(title: string): string {
  const start = README.indexOf(`## ${title}\n`);
  expect(start, `README has no "## ${title}"`).toBeGreaterThanOrEqual(0);
  const end = README.indexOf('\n## ', start + 3);

  return README.slice(start, end === -1 ? undefined : end);
}

describe('the README', () => {
  it('names the files a fix session really writes', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-readme-'));
    const run = await runCli(['fix', '--sandbox', '--time-scale', '0', '--yes', '--json',
      '--state-dir', stateDir]);
    const [session] = await readdir(join(stateDir, 'sessions'));
    const sessionPart = section('Files it writes').split('`<state-dir>/sandbox/`')[0];
    const names = [...sessionPart.matchAll(/`([\w.-]+\/?)`/g)].map((match) => match[1]);

    expect(run.code, run.stderr).toBe(0);
    expect(names).toContain('journal.jsonl');
    for (const name of names) {
      expect(existsSync(join(stateDir, 'sessions', session, name)), name).toBe(true);
    }
  }, TIMEOUT);

  it('lists only flags and exit codes that --help knows', async () => {
    const help = (await runCli(['--help'])).stdout;
    const flags = [...section('Commands').matchAll(/`(--[a-z-]+)/g)].map((match) => match[1]);
    const codes = [...section('Commands').matchAll(/^\| (\d+) \|/gm)].map((match) => match[1]);

    expect(flags.length).toBeGreaterThan(10);
    expect(help).toContain('sandbox serve');
    expect(help).toMatch(/sandbox serve .*\[--scenario FILE\|ID\]/);
    for (const flag of flags) expect(help, flag).toContain(flag);
    expect(codes).toEqual(['0', '1', '2', '3', '4', '5', '6', '130']);
    for (const code of codes) expect(help, `exit ${code}`).toMatch(new RegExp(`\\b${code} \\w`));
  });

  it('promises "nothing changed" for no exit code a run that changed gives', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-readme-'));
    // F19: the VM is built, then its probe finds that egress needs a proxy.
    const run = await runCli(['fix', '--sandbox', '--sandbox-reset', '--scenario', 'F19',
      '--time-scale', '0', '--yes', '--json', '--state-dir', stateDir]);
    const finished = JSON.parse(run.stdout.trimEnd().split('\n').at(-1) ?? '{}');
    const row = section('Commands').split('\n').find((line) => line.startsWith(`| ${run.code} |`));

    expect(finished.summary.changes.created.length).toBeGreaterThan(0);
    expect(row).toBeDefined();
    expect(row).not.toMatch(/nothing (was )?changed/);
  }, TIMEOUT);

  it('documents the exit code scan gives when the repair is needed', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-readme-'));
    const run = await runCli(['scan', '--sandbox', '--sandbox-reset', '--time-scale', '0',
      '--json', '--state-dir', stateDir]);
    const row = section('Commands').split('\n').find((line) => line.startsWith(`| ${run.code} |`));

    expect(run.code).toBe(3);
    expect(row).toMatch(/scan/);
  }, TIMEOUT);
});
