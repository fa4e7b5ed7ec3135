/**
 * The command line: what it accepts and how a mistake is reported.
 *
 * Parsing is strict (node:util parseArgs): an unknown flag, a missing value, an unknown
 * command or an incomplete Azure target is a usage error (exit 2) whose fix names the flag to
 * pass. This module loads nothing heavy, so `--help` and usage errors answer at once.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DoctorError, ExitCode } from '../engine/errors.js';
import type { CommandName } from '../engine/events.js';
import type { Target } from '../engine/types.js';

/** Everything a session command needs from the command line. */
export interface SessionFlags {
  /** Run against the embedded emulator instead of Azure. */
  isSandbox: boolean;
  isSandboxReset: boolean;
  scenario?: string;
  timeScale?: number;
  /** Sandbox only: append each emulator request and reply, secrets redacted, to this file. */
  requestLog?: string;
  isAutoApproved: boolean;
  isJson: boolean;
  /** The full target in Azure mode; in sandbox mode only the fields given as flags. */
  target: Partial<Target>;
  secretsFile?: string;
  stateDir: string;
  /** rollback: the session to undo (default: the latest). */
  sessionId?: string;
  /** rollback: also delete what the session created (asks first unless --yes). */
  isDeleteCreated: boolean;
}

/** Options of `sandbox serve`. */
export interface ServeFlags {
  stateDir: string;
  scenario?: string;
  isSandboxReset: boolean;
  timeScale?: number;
  requestLog?: string;
}

/** What the command line asks for. */
export type CommandLine =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'serve'; flags: ServeFlags }
  | { kind: 'session'; command: CommandName; flags: SessionFlags };

export const DEFAULT_STATE_DIR = './.shir-doctor';

const SESSION_COMMANDS: readonly CommandName[] = ['fix', 'plan', 'verify', 'rollback', 'scan'];

const OPTIONS = {
  sandbox: { type: 'boolean' },
  'sandbox-reset': { type: 'boolean' },
  scenario: { type: 'string' },
  'time-scale': { type: 'string' },
  'request-log': { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  json: { type: 'boolean' },
  subscription: { type: 'string' },
  'resource-group': { type: 'string' },
  workspace: { type: 'string' },
  'api-url': { type: 'string' },
  'vm-name': { type: 'string' },
  proxy: { type: 'string' },
  'secrets-file': { type: 'string' },
  'state-dir': { type: 'string' },
  session: { type: 'string' },
  'delete-created': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

type Values = ReturnType<typeof parseStrict>['values'];

/** What `sandbox serve` reads; any other flag given to it is a mistake worth naming. */
const SERVE_OPTIONS: ReadonlySet<string> =
  new Set(['sandbox', 'sandbox-reset', 'scenario', 'time-scale', 'request-log', 'state-dir']);

export const USAGE = `Usage: shir-doctor [command] [flags]

Repairs a DEP-locked Synapse workspace with a self-hosted integration runtime, and proves it.

Commands:
  fix                  detect, plan, apply after approval, prove (default)
  plan                 detect and show the plan; change nothing
  scan                 detect only
  verify               rerun the health checks and the end-to-end API test
  rollback             restore what a session changed [--session ID] [--delete-created]
  sandbox serve        run the Azure emulator until Ctrl-C [--scenario FILE|ID]

Target (Azure):
  --subscription ID  --resource-group NAME  --workspace NAME   (all three required)
  --api-url URL      the API the end-to-end test calls
  --vm-name NAME     host the runtime on this existing VM
  --proxy URL        HTTP(S) proxy the VM must use for egress

Sandbox:
  --sandbox            use the embedded emulator instead of Azure
  --sandbox-reset      start from the scenario again
  --scenario FILE|ID   scenario file or built-in id (F01..F20)
  --time-scale N       simulated latency factor (1 = demo pace, 0 = instant)
  --request-log FILE   append each emulator request and reply as JSON lines (secrets redacted)

Behaviour:
  --yes, -y            approve the plan and risky steps without asking
  --json               one JSON event per line on stdout; human text on stderr
  --secrets-file FILE  JSON of masked secrets keyed "<linked service>:<pointer>"
  --state-dir DIR      journals, reports and sandbox state (default ${DEFAULT_STATE_DIR})
  --help, --version

Exit codes: 0 ok, 1 internal, 2 usage, 3 unhealthy, 4 blocked, 5 apply failed, 6 declined,
130 interrupted.`;

/** Parses argv (without node and the script); throws a usage DoctorError. */
export function parseCommandLine(argv: string[]): CommandLine {
  const { values, positionals } = parseStrict(argv);
  if (values.help === true) return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };

  const [command = 'fix', ...rest] = positionals;
  if (command === 'sandbox') return { kind: 'serve', flags: toServeFlags(values, rest) };

  const name = toCommandName(command);
  if (rest.length > 0) throw usageError(`Unexpected argument "${rest[0]}".`, 'Pass one command.');

  return { kind: 'session', command: name, flags: toSessionFlags(name, values) };
}

function parseStrict(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw toUsageError(error);
  }
}

/** Rewrites parseArgs' messages so the flag at fault comes first and the fix is concrete. */
function toUsageError(error: unknown): DoctorError {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(message);
  if (unknown !== null) {
    return usageError(`Unknown flag ${unknown[1]}.`, 'Remove it or correct its spelling.');
  }
  const missing = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(message);
  if (missing !== null) {
    return usageError(`${missing[1]} needs a value.`, `Pass ${missing[1]} <value>.`);
  }
  const dashed = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument is ambiguous/.exec(message);
  if (dashed !== null) {
    return usageError(`${dashed[1]} has no value: what follows it starts with "-".`,
      `Pass ${dashed[1]} <value>; a value that starts with "-" is written ${dashed[1]}=<value>.`);
  }

  return usageError(message, 'See shir-doctor --help.');
}

function toCommandName(command: string): CommandName {
  const name = SESSION_COMMANDS.find((known) => known === command);
  if (name !== undefined) return name;

  const known = [...SESSION_COMMANDS, 'sandbox serve'].join(', ');

  throw usageError(`Unknown command "${command}".`, `Use one of: ${known}.`);
}

function toServeFlags(values: Values, rest: string[]): ServeFlags {
  if (rest[0] !== 'serve' || rest.length > 1) {
    throw usageError('"sandbox" needs the subcommand "serve".', 'Run shir-doctor sandbox serve.');
  }
  const extra = Object.keys(values).find((name) => !SERVE_OPTIONS.has(name));
  if (extra !== undefined) {
    throw usageError(`--${extra} does not apply to sandbox serve.`,
      'Drop it: sandbox serve takes --scenario, --sandbox-reset, --time-scale, --request-log ' +
        'and --state-dir.');
  }

  return {
    stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
    scenario: values.scenario,
    isSandboxReset: values['sandbox-reset'] === true,
    timeScale: toTimeScale(values['time-scale']),
    requestLog: values['request-log'],
  };
}

function toSessionFlags(command: CommandName, values: Values): SessionFlags {
  const isSandbox = values.sandbox === true;
  checkSandboxOnly(values, isSandbox);
  checkRollbackOnly(values, command);
  checkHttpUrl(values['api-url'], '--api-url', 'https://api.partner.example/v1/health');
  checkHttpUrl(values.proxy, '--proxy', 'http://proxy.corp.example:3128');

  return {
    isSandbox,
    isSandboxReset: values['sandbox-reset'] === true,
    scenario: values.scenario,
    timeScale: toTimeScale(values['time-scale']),
    requestLog: values['request-log'],
    isAutoApproved: values.yes === true,
    isJson: values.json === true,
    target: isSandbox ? partialTarget(values) : requireTarget(values),
    secretsFile: values['secrets-file'],
    stateDir: values['state-dir'] ?? DEFAULT_STATE_DIR,
    sessionId: values.session,
    isDeleteCreated: values['delete-created'] === true,
  };
}

function checkSandboxOnly(values: Values, isSandbox: boolean): void {
  if (isSandbox && values['secrets-file'] !== undefined) {
    // Ignoring it would hide a typo; using it would copy real secrets into the sandbox's world.
    throw usageError('--secrets-file works only against Azure.',
      'Drop --secrets-file: in the sandbox the emulator plays the admin and knows its secrets.');
  }
  if (isSandbox) return;

  const flag = ['sandbox-reset', 'scenario', 'time-scale', 'request-log'].find(
    (name) => values[name as keyof Values] !== undefined,
  );
  if (flag !== undefined) {
    throw usageError(`--${flag} works only with the sandbox.`, 'Add --sandbox.');
  }
}

function checkRollbackOnly(values: Values, command: CommandName): void {
  if (command === 'rollback') return;

  const flag = ['session', 'delete-created'].find(
    (name) => values[name as keyof Values] !== undefined,
  );
  if (flag !== undefined) {
    throw usageError(`--${flag} works only with rollback.`, `Run shir-doctor rollback --${flag}.`);
  }
}

/** A URL flag must be http(s) with a host, or the session would fail only after changes. */
function checkHttpUrl(raw: string | undefined, flag: string, example: string): void {
  if (raw === undefined) return;

  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || !['http:', 'https:'].includes(url.protocol) || url.hostname === '') {
    // The value is not echoed: a proxy URL may carry a password.
    throw usageError(`${flag} must be an http:// or https:// URL with a host.`,
      `Pass ${flag} ${example}.`);
  }
}

function partialTarget(values: Values): Partial<Target> {
  const target: Partial<Target> = {
    subscriptionId: values.subscription,
    resourceGroup: values['resource-group'],
    workspaceName: values.workspace,
    apiUrl: values['api-url'],
    vmName: values['vm-name'],
    proxyUrl: values.proxy,
  };

  return Object.fromEntries(
    Object.entries(target).filter(([, value]) => value !== undefined),
  ) as Partial<Target>;
}

/** Azure mode needs the whole target; the first missing flag is the one named. */
function requireTarget(values: Values): Target {
  const missing = ['subscription', 'resource-group', 'workspace'].filter(
    (name) => values[name as keyof Values] === undefined,
  );
  if (missing.length > 0) {
    const flags = missing.map((name) => `--${name}`).join(', ');
    throw usageError(
      `Missing ${flags}: Azure mode needs the workspace to work on.`,
      `Pass ${missing.map((name) => `--${name} <${name}>`).join(' ')}, or add --sandbox ` +
        'to try the built-in emulator.',
    );
  }

  return partialTarget(values) as Target;
}

function toTimeScale(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;

  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw usageError(`--time-scale must be a number of 0 or more, not "${raw}".`,
      'Pass --time-scale 0 for instant runs or 1 for demo pacing.');
  }

  return value;
}

function usageError(what: string, fix: string): DoctorError {
  return new DoctorError({ code: 'usage', what, fix, exitCode: ExitCode.usage });
}
