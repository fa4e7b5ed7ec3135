/**
 * End-to-end behaviour of the built CLI that does not depend on a repair succeeding: usage
 * errors, help, and colour in a real terminal.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, runCli, shellQuote, Tmux } from './cli.js';

const TIMEOUT = 120_000;
/** Any SGR colour code (foreground or background, 16/256/true colour). */
const COLOUR = /\u001B\[(?:\d+;)*(?:3[0-7]|9[0-7]|38|4[0-7]|48)(?:;\d+)*m/;

beforeAll(ensureBuilt, TIMEOUT);

describe('usage errors', () => {
  it('exits 2 and names an unknown flag on stderr, nothing on stdout', async () => {
    const run = await runCli(['fix', '--sandbox', '--no-such-flag']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--no-such-flag');
    expect(run.stdout).toBe('');
  });

  it('exits 2 and names the target flags when Azure mode has no target', async () => {
    const run = await runCli(['verify', '--json']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--subscription');
    expect(run.stderr).toContain('--workspace');
    expect(run.stdout).toBe('');
  });

  it('prints help with every command on stdout and exits 0', async () => {
    const run = await runCli(['--help']);

    expect(run.code).toBe(0);
    for (const word of ['fix', 'plan', 'scan', 'verify', 'rollback', 'sandbox serve', '--yes']) {
      expect(run.stdout).toContain(word);
    }
  });
});

describe('colour in a terminal', () => {
  const tmux = new Tmux();

  afterAll(() => tmux.killServer());

  async function screenWith(session: string, env: string): Promise<string> {
    const stateDir = await mkdtemp(join(tmpdir(), 'shir-e2e-colour-'));
    const cli = [process.execPath, CLI, 'scan', '--sandbox', '--time-scale', '0',
      '--state-dir', stateDir].map(shellQuote).join(' ');
    const clean = 'env -u CI -u FORCE_COLOR -u NO_COLOR';
    await tmux.start(session, `${clean} ${env} ${cli}; echo "[exit $?]"; sleep 600`);
    await tmux.waitFor(session, /\[exit \d+\]/);

    return tmux.run('capture-pane', '-e', '-p', '-S', '-1000', '-t', session);
  }

  it('uses colour by default and none with NO_COLOR', async () => {
    const coloured = await screenWith('colour', '');
    const plain = await screenWith('plain', 'NO_COLOR=1');

    expect(coloured).toContain('shir-doctor scan');
    expect(coloured).toMatch(COLOUR);
    expect(plain).toContain('shir-doctor scan');
    expect(plain).not.toMatch(COLOUR);
  }, TIMEOUT);
});
