/**
 * End-to-end Ctrl-C: the first press says what is being finished and stops the session; a
 * second press ends the process at once with exit code 130. In a terminal Ctrl-C is a key
 * (Ink's raw mode); in a pipe it is SIGINT.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, ROOT, shellQuote, Tmux } from './cli.js';

const TIMEOUT = 180_000;

beforeAll(ensureBuilt, TIMEOUT);

describe('Ctrl-C in a terminal', () => {
  const tmux = new Tmux();

  afterAll(() => tmux.killServer());

  it('announces the interrupt on the first press and exits 130 on the second', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-e2e-int-'));
    const cli = [process.execPath, CLI, 'fix', '--sandbox', '--sandbox-reset', '--time-scale', '1',
      '--state-dir', stateDir].map(shellQuote).join(' ');
    await tmux.start('int', `env -u CI ${cli}; echo "[exit $?]"; sleep 600`);
    await tmux.waitFor('int', /Apply this plan\? \[y\/n\]/);
    await tmux.sendKeys('int', 'y');
    await tmux.waitFor('int', /Steps/);

    await tmux.sendKeys('int', 'C-c');
    const announced = await tmux.waitFor('int', /Interrupted: (finishing|stopping)|\[exit \d+\]/);
    await tmux.sendKeys('int', 'C-c');
    const screen = await tmux.waitFor('int', /\[exit \d+\]/);

    expect(announced).toMatch(/Interrupted: (finishing|stopping)/);
    expect(screen).toContain('[exit 130]');
  }, TIMEOUT);
});

describe('SIGINT without a terminal', () => {
  it('emits the interrupt as a JSON log event, then exits 130 on the second signal', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-e2e-sig-'));
    const child = spawn(process.execPath, [CLI, 'fix', '--sandbox', '--sandbox-reset',
      '--time-scale', '1', '--yes', '--json', '--state-dir', stateDir], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const started = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('"step.started"')) resolve();
      });
    });
    await Promise.race([started, exited]);

    child.kill('SIGINT');
    await waitUntil(() => stdout.includes('Interrupted:'), exited);
    child.kill('SIGINT');
    const code = await exited;
    const events = stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { type: string });

    expect(events.some((event) => event.type === 'log')).toBe(true);
    expect(stdout).toMatch(/"level":"warn","message":"Interrupted: (finishing|stopping)/);
    expect(code).toBe(130);
    // The last line says what to do next, since no summary follows a second press.
    expect(stderr.trimEnd().split('\n').at(-1)).toMatch(/^Stopped at once .*resume/);
  }, TIMEOUT);
});

async function waitUntil(condition: () => boolean, ended: Promise<unknown>): Promise<void> {
  let isEnded = false;
  void ended.then(() => (isEnded = true));
  while (!condition() && !isEnded) await new Promise((resolve) => setTimeout(resolve, 50));
}
