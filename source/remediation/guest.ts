/**
 * Runs shir-doctor's PowerShell scripts on a VM through Run Command v2 and reads the result.
 *
 * Protocol (AZURE-WIRE.md): PUT `virtualMachines/{vm}/runCommands/{name}` with the script text,
 * plain `parameters` and `protectedParameters` (the only place a secret may travel, ARM never
 * echoes them back); wait for the long-running operation; then GET the run command with
 * `$expand=instanceView` for executionState, exitCode, output and error. The script is
 * identified by its first-line marker (wire/guest.ts). Output is redacted before it leaves this
 * module, and every run command is deleted once its output has been read.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunCommandInputParameter } from '@azure/arm-compute';

import { DoctorError, ExitCode } from '../engine/errors.js';
import { redact } from '../engine/redact.js';
import type { Journal, StepIO } from '../engine/step.js';
import {
  parseGuestLines,
  RUN_COMMAND_NAMES,
  SCRIPT_MARKERS,
  type ScriptKind,
} from '../wire/guest.js';
import type { FixContext } from './context.js';
import {
  armId,
  asDoctorError,
  creationTags,
  isNotFound,
  journaled,
  sleep,
  tuningOf,
} from './resources.js';

/** File name of each shipped script under scripts/. */
export const SCRIPT_FILES: Record<ScriptKind, string> = {
  install: 'install-shir.ps1',
  probe: 'probe-egress.ps1',
  inspect: 'inspect-runtime.ps1',
};

/** How long Run Command lets each script run before it stops it. */
const SCRIPT_TIMEOUT_SECONDS: Record<ScriptKind, number> = {
  install: 3600,
  probe: 600,
  inspect: 300,
};

/** What one Run Command execution produced; every text field is already redacted. */
export interface ScriptRun {
  /** Run Command execution state: Succeeded, Failed, TimedOut, Canceled, ... */
  executionState?: string;
  /** The script's exit code; undefined when the guest agent never reported one. */
  exitCode?: number;
  output: string;
  error: string;
  /** Parsed `SHIR-DOCTOR key=value` lines from the output. */
  records: Array<Record<string, string>>;
}

/** A script to run on a VM. */
export interface ScriptRequest {
  kind: ScriptKind;
  vmName: string;
  /** Plain parameters; visible in ARM, so never a secret. */
  parameters: Record<string, string | undefined>;
  /** Secret parameters; sent once, never read back, never journaled. */
  protectedParameters?: Record<string, string>;
}

/** The folder of the shipped scripts: `scripts/` next to `source/` and `dist/`. */
export function defaultScriptsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts');
}

/** Reads a shipped script and checks its first-line marker. */
export async function readScript(kind: ScriptKind, scriptsDir?: string): Promise<string> {
  const path = join(scriptsDir ?? defaultScriptsDir(), SCRIPT_FILES[kind]);
  const text = await readFile(path, 'utf8');

  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0]?.trim();
  if (firstLine !== SCRIPT_MARKERS[kind]) {
    throw new DoctorError({
      code: 'script-corrupt',
      what: `The VM script ${path} does not start with its marker line.`,
      fix: 'Reinstall shir-doctor; the scripts folder was changed or is from another version.',
      exitCode: ExitCode.internal,
    });
  }
  return text;
}

/** Turns a name → value map into Run Command parameters, leaving out empty values. */
export function toRunParameters(
  values: Record<string, string | undefined>,
): RunCommandInputParameter[] {
  return Object.entries(values)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '')
    .map(([name, value]) => ({ name, value }));
}

/**
 * Runs a script on the VM and returns its redacted result. Throws a DoctorError only when
 * Azure refused or lost the run, not when the script itself failed: callers read `exitCode`.
 */
export async function runScript(
  context: FixContext,
  journal: Journal,
  request: ScriptRequest,
): Promise<ScriptRun> {
  const { compute } = context.clients;
  const { resourceGroup } = context.target;
  const name = RUN_COMMAND_NAMES[request.kind];
  const script = await readScript(request.kind, context.tuning?.scriptsDir);
  const location = await vmLocation(context, request.vmName);
  // A leftover from an interrupted session would make the PUT an update that runs nothing.
  if (await runExists(context, request.vmName, name)) {
    await deleteRun(context, journal, request.vmName, name);
  }

  const intent = {
    action: 'create' as const,
    kind: 'run-command' as const,
    name: `${request.vmName}/${name}`,
    resourceId: armId(context, 'Microsoft.Compute', `virtualMachines/${request.vmName}` +
      `/runCommands/${name}`),
  };
  await journaled(journal, intent, `run the ${request.kind} script on ${request.vmName}`, () =>
    compute.virtualMachineRunCommands.createOrUpdate(resourceGroup, request.vmName, name, {
      location,
      tags: creationTags(journal),
      source: { script },
      parameters: toRunParameters(request.parameters),
      protectedParameters: toRunParameters(request.protectedParameters ?? {}),
      asyncExecution: false,
      treatFailureAsDeploymentFailure: false,
      timeoutInSeconds: SCRIPT_TIMEOUT_SECONDS[request.kind],
    }, { updateIntervalInMs: tuningOf(context).pollIntervalMs }),
  );

  const run = await readRun(context, request.vmName, name);
  // Deleted after every read: a later PUT of the same definition would not run the script
  // again, and the one that carried the key should not linger.
  await deleteRun(context, journal, request.vmName, name);
  return run;
}

/** Run Command execution states of a script that has not ended yet. */
const RUNNING_STATES = new Set(['pending', 'running']);

/**
 * Waits while a run command of this kind, left by an interrupted session, still runs on the
 * VM: its script goes on without us, and what it does (a registration) must be seen before
 * deciding to run it again. Returns at once when there is none.
 */
export async function awaitLeftoverRun(
  context: FixContext,
  io: Pick<StepIO, 'progress' | 'signal'>,
  vmName: string,
  kind: ScriptKind,
): Promise<void> {
  const name = RUN_COMMAND_NAMES[kind];
  const deadline = Date.now() + SCRIPT_TIMEOUT_SECONDS[kind] * 1000;
  let state = await runState(context, vmName, name);
  if (!isRunning(state)) return;

  io.progress(`waiting for the ${kind} script an interrupted run left on ${vmName}`);
  while (isRunning(state) && Date.now() < deadline) {
    await sleep(tuningOf(context).pollIntervalMs, io.signal);
    state = await runState(context, vmName, name);
  }
}

function isRunning(state: string | undefined): boolean {
  return state !== undefined && RUNNING_STATES.has(state.toLowerCase());
}

/** The execution state of a run command, or undefined when there is none. */
async function runState(
  context: FixContext,
  vmName: string,
  name: string,
): Promise<string | undefined> {
  try {
    const command = await context.clients.compute.virtualMachineRunCommands.getByVirtualMachine(
      context.target.resourceGroup, vmName, name, { expand: 'instanceView' });
    return command.instanceView?.executionState ?? command.provisioningState;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw asDoctorError(error, `read run command ${name}`, vmName);
  }
}

async function runExists(context: FixContext, vmName: string, name: string): Promise<boolean> {
  try {
    await context.clients.compute.virtualMachineRunCommands.getByVirtualMachine(
      context.target.resourceGroup, vmName, name);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw asDoctorError(error, `read run command ${name}`, vmName);
  }
}

async function vmLocation(context: FixContext, vmName: string): Promise<string> {
  try {
    const vm = await context.clients.compute.virtualMachines.get(
      context.target.resourceGroup,
      vmName,
    );
    return vm.location;
  } catch (error) {
    throw asDoctorError(error, 'read the virtual machine', vmName);
  }
}

async function readRun(context: FixContext, vmName: string, name: string): Promise<ScriptRun> {
  try {
    const command = await context.clients.compute.virtualMachineRunCommands.getByVirtualMachine(
      context.target.resourceGroup,
      vmName,
      name,
      { expand: 'instanceView' },
    );
    return toScriptRun(command.instanceView ?? {});
  } catch (error) {
    throw asDoctorError(error, `read the output of run command ${name}`, vmName);
  }
}

/** Redacts and parses a Run Command instance view. */
export function toScriptRun(view: {
  executionState?: string;
  exitCode?: number;
  output?: string;
  error?: string;
}): ScriptRun {
  const output = redact(view.output ?? '');
  return {
    executionState: view.executionState,
    exitCode: view.exitCode,
    output,
    error: redact(view.error ?? ''),
    records: parseGuestLines(output),
  };
}

/** Deletes a run command that carried a secret; a failure only costs tidiness. */
async function deleteRun(
  context: FixContext,
  journal: Journal,
  vmName: string,
  name: string,
): Promise<void> {
  const intent = {
    action: 'delete' as const,
    kind: 'run-command' as const,
    name: `${vmName}/${name}`,
    resourceId: armId(context, 'Microsoft.Compute',
      `virtualMachines/${vmName}/runCommands/${name}`),
  };
  try {
    await journaled(journal, intent, `delete run command ${name}`, () =>
      context.clients.compute.virtualMachineRunCommands.delete(
        context.target.resourceGroup,
        vmName,
        name,
        { updateIntervalInMs: tuningOf(context).pollIntervalMs },
      ),
    );
  } catch {
    // The journal holds the failed outcome; the run command holds no readable secret.
  }
}

/** The last `lines` lines of a (redacted) output, for error messages. */
export function tailOf(text: string, lines = 15): string {
  return text.trimEnd().split(/\r?\n/).slice(-lines).join('\n');
}
