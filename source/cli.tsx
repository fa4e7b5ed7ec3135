#!/usr/bin/env node
/**
 * The entry point: parse the command line, pick the presenter, run one command, and map how
 * it ended to an exit code.
 *
 * Start-up order matters for speed and for colour: nothing heavy is imported statically.
 * `NO_COLOR` is turned into `FORCE_COLOR=0` before Ink (and chalk) load; the presenter draws
 * its first frame before the command modules (and with them the Azure SDKs) are imported.
 *
 * Ctrl-C: the first press says what is being finished, cancels open prompts and aborts the
 * session's signal so steps park their changes; a second press exits 130 at once. `exit` below
 * is the only place the process ends.
 */
import { readFileSync } from 'node:fs';
import { parseCommandLine, USAGE, type CommandLine, type ServeFlags } from './commands/args.js';
import { ExitCode, isDoctorError, type ErrorInfo } from './engine/errors.js';
import { redact } from './engine/redact.js';
import { detectInteractivity } from './ui/interactive.js';
import type { Presenter } from './ui/presenter.js';

const HELP_HINT = 'Run shir-doctor --help for every command and flag.';

type SessionLine = Extract<CommandLine, { kind: 'session' }>;

// A reader that goes away (`| head`) must not crash a session that is changing Azure: it
// finishes, journals and reports; only the lines nobody reads are lost.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

main(process.argv.slice(2)).then(exit, (error: unknown) => {
  const info = describeCrash(error);
  process.stderr.write(`${errorLines(info).join('\n')}\n`);
  exit(info.exitCode);
});

async function main(argv: string[]): Promise<number> {
  const line = parseOrReport(argv);
  if (typeof line === 'number') return line;

  switch (line.kind) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return ExitCode.ok;
    case 'version':
      process.stdout.write(`${readVersion()}\n`);
      return ExitCode.ok;
    case 'serve':
      return runServe(line.flags);
    case 'session':
      return runSession(line);
  }
}

/** The command line, or the exit code of a usage error already reported on stderr. */
function parseOrReport(argv: string[]): CommandLine | number {
  try {
    return parseCommandLine(argv);
  } catch (error) {
    const info = describeCrash(error);
    process.stderr.write(`${[...errorLines(info), HELP_HINT].join('\n')}\n`);

    return info.exitCode;
  }
}

async function runSession(line: SessionLine): Promise<number> {
  const { flags } = line;
  const isInteractive = detectInteractivity(flags);
  if (isSet(process.env.NO_COLOR)) process.env.FORCE_COLOR = '0';

  const { createPresenter } = await import('./ui/factory.js');
  const ui = await createPresenter({
    command: line.command,
    isJson: flags.isJson,
    isInteractive,
    isAutoApproved: flags.isAutoApproved,
    stdout: process.stdout,
    stderr: process.stderr,
  });
  const controller = new AbortController();
  const unwatch = watchInterrupts(ui, controller, line.command);

  try {
    const { runCommand } = await import('./commands/index.js');
    const context = { command: line.command, flags, ui, isInteractive, env: process.env };

    return await runCommand({ ...context, signal: controller.signal });
  } catch (error) {
    const info = describeCrash(error);
    ui.showError(info);

    return info.exitCode;
  } finally {
    unwatch();
    await ui.close();
  }
}

async function runServe(flags: ServeFlags): Promise<number> {
  const controller = new AbortController();
  let presses = 0;
  const onSigint = (): void => {
    presses += 1;
    if (presses > 1) exit(ExitCode.interrupted);
    controller.abort();
  };
  process.on('SIGINT', onSigint);

  try {
    const { serve } = await import('./commands/sandbox.js');

    return await serve({ flags, out: process.stdout, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Wires Ctrl-C (a key under Ink, SIGINT otherwise); returns the function that unwires it. */
function watchInterrupts(
  ui: Presenter,
  controller: AbortController,
  command: string,
): () => void {
  let presses = 0;
  const onInterrupt = (): void => {
    presses += 1;
    if (presses > 1) {
      // No presenter runs after this: the last word goes straight to the terminal.
      process.stderr.write('\nStopped at once (exit 130). Run the same command again to ' +
        'resume where it stopped, or rollback to undo.\n');
      exit(ExitCode.interrupted);
    }

    ui.emit({ type: 'log', level: 'warn', message: interruptMessage(ui.runningSteps(), command) });
    ui.cancelPrompts();
    controller.abort();
  };
  ui.onInterrupt(onInterrupt);
  process.on('SIGINT', onInterrupt);

  return () => process.off('SIGINT', onInterrupt);
}

/**
 * The first Ctrl-C aborts the change in flight (a definition write, a poll) rather than waiting
 * for it: say so, and that a rerun of the same command picks it up.
 */
function interruptMessage(running: string[], command: string): string {
  const again = 'Press Ctrl-C again to exit at once.';
  if (running.length === 0) return `Interrupted: stopping before the next change. ${again}`;

  return `Interrupted: stopping ${running.join(', ')}. The change in progress is parked, not ` +
    `undone: run shir-doctor ${command} again to resume it. ${again}`;
}

/** Any thrown value as ErrorInfo; anything but a DoctorError is an internal error. */
function describeCrash(error: unknown): ErrorInfo {
  if (isDoctorError(error)) return error.info;

  const message = error instanceof Error ? error.message : String(error);

  return {
    code: 'internal',
    what: redact(message),
    fix: 'This is a bug in shir-doctor: report it with the session log from --state-dir.',
    exitCode: ExitCode.internal,
  };
}

/** An error for stderr outside any presenter, the fix last. */
function errorLines(info: ErrorInfo): string[] {
  const why = info.why === undefined ? [] : [`why: ${info.why}`];

  return [`error: ${info.what}`, ...why, `fix: ${info.fix}`];
}

function readVersion(): string {
  const path = new URL('../package.json', import.meta.url);

  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '';
}

/** The one place the process ends. */
function exit(code: number): never {
  process.exit(code);
}
