/**
 * Helpers that run the BUILT CLI (dist/cli.js) the way a user does: as a child process with
 * pipes, or inside a tmux pane that gives it a real pseudo-terminal.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const ROOT = new URL('../..', import.meta.url).pathname;
export const CLI = join(ROOT, 'dist', 'cli.js');

/** Builds dist/ when it is missing (`npm test` builds it first through `pretest`). */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(CLI)) return;

  await execFileAsync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT });
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with pipes on every stream (no TTY anywhere). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file under `dir`, recursively, with its text. */
export async function readTree(dir: string): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;

    const path = join(entry.parentPath, entry.name);
    texts[path] = await readFile(path, 'utf8');
  }

  return texts;
}

/** A tmux server of our own (private socket), so no other tmux session is touched. */
export class Tmux {
  readonly socket = `shir-doctor-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  async run(...args: string[]): Promise<string> {
    // A detached server still wants to know the outer terminal type; CI may not set one.
    const env = { ...process.env, TERM: process.env.TERM || 'xterm-256color' };
    const { stdout } = await execFileAsync('tmux', ['-L', this.socket, ...args], { env });

    return stdout;
  }

  /** Starts `command` in a detached 120x50 pane; the pane stays after the command ends. */
  async start(session: string, command: string): Promise<void> {
    await this.run('new-session', '-d', '-s', session, '-x', '120', '-y', '50', command);
  }

  /** The pane's text including scrollback, without colours. */
  capture(session: string): Promise<string> {
    return this.run('capture-pane', '-p', '-J', '-S', '-1000', '-t', session);
  }

  sendKeys(session: string, ...keys: string[]): Promise<string> {
    return this.run('send-keys', '-t', session, ...keys);
  }

  /** Polls the pane until `pattern` shows up; throws with the screen when it never does. */
  async waitFor(session: string, pattern: RegExp, timeoutMs = 90_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    while (Date.now() < deadline) {
      screen = await this.capture(session);
      if (pattern.test(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`Timed out waiting for ${pattern} on screen:\n${screen}`);
  }

  async killServer(): Promise<void> {
    await this.run('kill-server').catch(() => undefined);
  }
}

/** Quotes a value for the shell command tmux runs. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
