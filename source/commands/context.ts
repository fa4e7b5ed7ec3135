/**
 * What every session command shares: opening the target (the sandbox or Azure), turning the
 * flags into session options, and closing what was opened.
 *
 * This is the only place where the sandbox meets the product: `--sandbox` starts the emulator,
 * and its endpoint, CA and service principal become an ordinary `Connection`.
 */
import { constants } from 'node:fs';
import { access, appendFile, mkdir } from 'node:fs/promises';
import { basename, isAbsolute, join, relative } from 'node:path';
import type { Connection } from '../azure/types.js';
import { DoctorError, ExitCode, isDoctorError } from '../engine/errors.js';
import { redact } from '../engine/redact.js';
import type { CommandName } from '../engine/events.js';
import type { Target } from '../engine/types.js';
import type { InfrastructureTuning, SecretSource } from '../remediation/context.js';
import { sandboxTuning } from '../remediation/resources.js';
import type { RerunSpelling, SessionOptions } from '../remediation/session.js';
import type { SandboxHandle } from '../sandbox/api.js';
import type { Presenter } from '../ui/presenter.js';
import { DEFAULT_STATE_DIR, type SessionFlags } from './args.js';
import { azureSecrets, tableSecrets } from './secrets.js';

/** What a command module gets from the CLI. */
export interface CommandContext {
  command: CommandName;
  flags: SessionFlags;
  ui: Presenter;
  /** Aborted on the first Ctrl-C. */
  signal: AbortSignal;
  isInteractive: boolean;
  env: NodeJS.ProcessEnv;
}

/** A target ready to work on, and how to let go of it. */
export interface OpenedTarget {
  mode: 'sandbox' | 'azure';
  connection: Connection;
  target: Target;
  secrets: SecretSource;
  /** Waits sized for the emulator's pace; real Azure keeps the defaults. */
  tuning?: InfrastructureTuning;
  close(): Promise<void>;
}

/** Opens the target, runs `work`, and always closes the target again. */
export async function withTarget<T>(
  context: CommandContext,
  work: (opened: OpenedTarget) => Promise<T>,
): Promise<T> {
  if (context.flags.isSandbox || context.command !== 'scan') {
    await checkStateDir(context.flags.stateDir);
  }
  const opened = context.flags.isSandbox
    ? await openSandbox(context.flags)
    : await openAzure(context);
  try {
    return await work(opened);
  } finally {
    await opened.close();
  }
}

export function sessionOptions(context: CommandContext, opened: OpenedTarget): SessionOptions {
  return {
    target: opened.target,
    connection: opened.connection,
    stateDir: context.flags.stateDir,
    isAutoApproved: context.flags.isAutoApproved,
    signal: context.signal,
    secrets: opened.secrets,
    rerun: rerunSpelling(context.flags),
    ...(opened.tuning === undefined ? {} : { tuning: opened.tuning }),
  };
}

/**
 * How a suggested next command must be spelled to work when pasted: started as
 * `node dist/cli.js` (what `npm start` does) it says so, since `shir-doctor` is then not on
 * the PATH; and it carries `--sandbox`, the target and a non-default state folder, without
 * which `verify` would look for a workspace in Azure or a journal somewhere else. A proxy or
 * API URL with a password is left out (the password is a secret); the admin adds it again.
 */
export function rerunSpelling(
  flags: SessionFlags,
  script = process.argv[1] ?? '',
  cwd = process.cwd(),
): RerunSpelling {
  const target = flags.target;
  const pairs: [string, string | undefined][] = [
    ['--subscription', target.subscriptionId],
    ['--resource-group', target.resourceGroup],
    ['--workspace', target.workspaceName],
    ['--api-url', hasPassword(target.apiUrl) ? undefined : target.apiUrl],
    ['--vm-name', target.vmName],
    ['--proxy', hasPassword(target.proxyUrl) ? undefined : target.proxyUrl],
    ['--secrets-file', flags.secretsFile],
    ['--state-dir', flags.stateDir === DEFAULT_STATE_DIR ? undefined : flags.stateDir],
  ];
  const given = pairs.filter((pair): pair is [string, string] => pair[1] !== undefined);

  return {
    program: programName(script, cwd),
    flags: [
      ...(flags.isSandbox ? ['--sandbox'] : []),
      ...given.map(([flag, value]) => `${flag} ${shellQuote(value)}`),
    ],
  };
}

function programName(script: string, cwd: string): string {
  if (basename(script) !== 'cli.js') return 'shir-doctor';

  const path = relative(cwd, script);
  return `node ${shellQuote(path.startsWith('..') || isAbsolute(path) ? script : path)}`;
}

function hasPassword(url: string | undefined): boolean {
  try {
    return url !== undefined && new URL(url).password !== '';
  } catch {
    return false;
  }
}

function shellQuote(value: string): string {
  if (/^[\w@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A --state-dir that cannot hold `folder` (sessions, sandbox) is a usage error, found before
 * the target is opened (so before any network call), not an internal error half-way through.
 */
export async function checkStateDir(stateDir: string, folder = 'sessions'): Promise<void> {
  const path = join(stateDir, folder);
  try {
    await mkdir(path, { recursive: true });
    await access(path, constants.W_OK);
  } catch (error) {
    throw new DoctorError({
      code: 'state-dir-unusable',
      what: `--state-dir ${stateDir} cannot hold shir-doctor's files.`,
      why: error instanceof Error ? error.message : String(error),
      fix: 'Pass --state-dir with a folder you can write (or that can be created there), ' +
        'or move the file that stands in its way.',
      exitCode: ExitCode.usage,
    });
  }
}

/** What starting the emulator needs from the command line. */
export interface EmulatorFlags {
  stateDir: string;
  scenario?: string;
  isSandboxReset: boolean;
  timeScale?: number;
  /** `--request-log`: the emulator appends each exchange here, secrets redacted. */
  requestLog?: string;
}

/** Starts the emulator under `<state-dir>/sandbox`; a failure says which flag to check. */
export async function startEmulator(flags: EmulatorFlags): Promise<SandboxHandle> {
  await checkStateDir(flags.stateDir, 'sandbox');
  if (flags.requestLog !== undefined) await checkRequestLog(flags.requestLog);
  const { startSandbox } = await import('../sandbox/index.js');
  try {
    return await startSandbox({
      stateDir: join(flags.stateDir, 'sandbox'),
      reset: flags.isSandboxReset,
      scenario: flags.scenario,
      timeScale: flags.timeScale,
      requestLogPath: flags.requestLog,
    });
  } catch (error) {
    if (isDoctorError(error)) throw error;
    if (error instanceof Error && error.name === 'ScenarioError') {
      throw scenarioError(error.message);
    }
    if (error instanceof Error && error.name === 'SandboxStateError') {
      throw new DoctorError({
        code: 'sandbox-state-unreadable',
        what: 'The saved sandbox world cannot be continued; it was left untouched.',
        why: redact(error.message),
        fix: 'Add --sandbox-reset to start again from the scenario (the world is replaced), ' +
          'or pass another --state-dir.',
        exitCode: ExitCode.usage,
      });
    }

    throw new DoctorError({
      code: 'sandbox-start-failed',
      what: 'The sandbox could not start.',
      why: redact(error instanceof Error ? error.message : String(error)),
      fix: 'Check --scenario (a file or F01..F20) and --state-dir; add --sandbox-reset to ' +
        'start again from the scenario.',
      exitCode: ExitCode.internal,
    });
  }
}

/** The log is appended to mid-run; a path it cannot write is named before anything starts. */
async function checkRequestLog(path: string): Promise<void> {
  try {
    await appendFile(path, '');
  } catch (error) {
    throw new DoctorError({
      code: 'usage',
      what: `--request-log ${path} cannot be written.`,
      why: redact(error instanceof Error ? error.message : String(error)),
      fix: 'Pass --request-log with a file in a folder that exists and you can write to.',
      exitCode: ExitCode.usage,
    });
  }
}

function scenarioError(why: string): DoctorError {
  return new DoctorError({
    code: 'scenario-invalid',
    what: 'The sandbox scenario cannot be used.',
    why: redact(why),
    fix: 'Pass --scenario with a built-in id (F01..F20, see scenarios/README.md) or a JSON ' +
      'file shaped like scenarios/F01.json.',
    exitCode: ExitCode.usage,
  });
}

/** How the product reaches a running sandbox: its endpoint, CA and service principal. */
export function sandboxConnection(sandbox: SandboxHandle): Connection {
  const { endpoint, caPem, authorityHost, tenantId, clientId, clientSecret } = sandbox;

  return { kind: 'sandbox', endpoint, caPem, authorityHost, tenantId, clientId, clientSecret };
}

async function openSandbox(flags: SessionFlags): Promise<OpenedTarget> {
  const sandbox = await startEmulator(flags);
  const { subscriptionId, resourceGroup, workspaceName } = sandbox.target;

  return {
    mode: 'sandbox',
    connection: sandboxConnection(sandbox),
    target: { subscriptionId, resourceGroup, workspaceName, ...flags.target },
    secrets: tableSecrets(sandbox.adminSecrets),
    tuning: sandboxTuning(flags.timeScale ?? 1),
    close: () => sandbox.close(),
  };
}

async function openAzure(context: CommandContext): Promise<OpenedTarget> {
  const secrets = await azureSecrets({
    secretsFile: context.flags.secretsFile,
    env: context.env,
    ui: context.ui,
    isInteractive: context.isInteractive,
  });

  return {
    mode: 'azure',
    connection: { kind: 'azure' },
    target: context.flags.target as Target,
    secrets,
    close: async () => {},
  };
}
