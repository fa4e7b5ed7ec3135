/**
 * The `install` step: install the runtime on the VM and register it, through Run Command v2.
 *
 * Policy:
 * - Look before installing: an install script an interrupted session left running is waited
 *   for first; then a node of ours already registered means the work is done; an
 *   Offline node with our name that the plan did not clear is a conflict (F14); a VM whose
 *   runtime is registered to another runtime gets no second one (F06).
 * - The auth key travels only as the protected parameter `AuthKey`; parameters NodeName,
 *   ProxyUrl (F19) and MsiUrl are plain. The script forces TLS 1.2 for its downloads (F09).
 * - MSI 1618 (another installation in progress) is retried with backoff; when it persists the
 *   step stops naming 1618 and its meaning (F10).
 * - Every INSTALL_EXIT code maps to a DoctorError whose last line says what to do. The exit
 *   code is never trusted alone: the `online` step waits for the node to report Online (F11).
 */
import { DoctorError, ExitCode } from '../engine/errors.js';
import type { ErrorInfo } from '../engine/errors.js';
import type { Step, StepIO, StepOutcome } from '../engine/step.js';
import { INSTALL_EXIT, MSI_EXIT_MEANING, PARAM } from '../wire/guest.js';
import type { FixContext, RuntimeView } from './context.js';
import { awaitLeftoverRun, runScript, tailOf, type ScriptRun } from './guest.js';
import { proxyParameters } from './probe.js';
import { sleep, tuningOf } from './resources.js';
import { checkReusable, findNode, readRuntimeStatus } from './runtime.js';

/** Node statuses that mean the node is registered and needs no install. */
const REGISTERED_STATUSES = new Set(['Online', 'Limited', 'Upgrading', 'Initializing']);

/** The MSI exit code that is worth waiting out. */
export const MSI_BUSY = 1618;

export function installStep(): Step<FixContext> {
  return {
    id: 'install',
    title: 'Install and register the runtime on the VM',
    dependsOn: ['vm', 'auth-key', 'stale-nodes', 'probe'],
    run: runInstall,
  };
}

async function runInstall(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const { runtimeName, nodeName, host } = context.decisions;
  if (context.produced.vmId) await awaitLeftoverRun(context, io, host.vmName, 'install');
  const runtime = await readRuntimeStatus(context.clients, context.target, runtimeName);
  const done = alreadyRegistered(runtime, nodeName);
  if (done) return done;
  if (runtime) checkReusable(runtime, nodeName);

  const authKey = context.produced.authKey;
  if (!authKey) throw keyNotFetched(runtimeName);

  await refuseForeignRuntime(context, io);
  const run = await installWithRetries(context, io, authKey);
  context.produced.installOutput = run.output;
  return { status: 'succeeded', summary: `Installed the runtime on ${host.vmName} and ` +
    `registered node ${nodeName}` };
}

/** The outcome when our node is already registered; throws on a stale node (F14). */
export function alreadyRegistered(
  runtime: RuntimeView | undefined,
  nodeName: string,
): StepOutcome | undefined {
  const node = findNode(runtime, nodeName);
  if (!node) return undefined;
  if (REGISTERED_STATUSES.has(node.status)) {
    return { status: 'skipped', reason: `node ${node.nodeName} is already registered ` +
      `(${node.status})` };
  }
  if (node.status !== 'Offline') return undefined;

  throw new DoctorError({
    code: 'node-name-taken',
    what: `Runtime ${runtime?.name} already lists an Offline node named ${node.nodeName}.`,
    why: 'It is probably left over from an earlier VM with the same name; a new registration ' +
      'under that name would clash with it.',
    fix: 'Run shir-doctor again and approve removing the stale node, or remove it yourself ' +
      'in Synapse Studio (Manage > Integration runtimes > Nodes).',
    exitCode: ExitCode.blocked,
  });
}

function keyNotFetched(runtimeName: string): DoctorError {
  return new DoctorError({
    code: 'auth-key-missing',
    what: `The key of ${runtimeName} was not fetched before the install.`,
    fix: 'Run shir-doctor again; if it repeats, check that you can list the runtime\'s keys ' +
      '(Synapse Administrator or Contributor on the workspace).',
    exitCode: ExitCode.internal,
  });
}

/** What the inspect script says about a runtime already on the VM. */
export interface GuestRuntime {
  isInstalled: boolean;
  /** The runtime it is registered to, when the guest could tell. */
  registeredTo?: string;
}

/** Reads `SHIR-DOCTOR runtime installed=yes|no registeredTo=<ir>` from inspect output. */
export function parseInspect(run: ScriptRun): GuestRuntime {
  const record = run.records.find((item) => 'installed' in item) ?? {};
  const registeredTo = record.registeredTo;
  const isKnown = !!registeredTo && !/^(none|unknown|-)$/i.test(registeredTo);
  return {
    isInstalled: record.installed?.toLowerCase() === 'yes',
    registeredTo: isKnown ? registeredTo : undefined,
  };
}

/** F06: one machine hosts one runtime. */
async function refuseForeignRuntime(context: FixContext, io: StepIO): Promise<void> {
  const { host, runtimeName, nodeName } = context.decisions;
  io.progress(`checking ${host.vmName} for an existing runtime`);
  const run = await runScript(context, io.journal, {
    kind: 'inspect',
    vmName: host.vmName,
    parameters: {},
  });

  const guest = parseInspect(run);
  if (!guest.isInstalled || !guest.registeredTo) return;
  if (!isSameRuntime(guest.registeredTo, context.target.workspaceName, runtimeName)) {
    throw registeredElsewhere(host.vmName, guest.registeredTo);
  }
  throw registrationLost(host.vmName, runtimeName, nodeName);
}

/** True when `registeredTo` (`<runtime>` or `<workspace>/<runtime>`) names our runtime. */
export function isSameRuntime(registeredTo: string, workspace: string, runtime: string): boolean {
  const parts = registeredTo.toLowerCase().split('/');
  const name = parts.pop();
  const owner = parts.pop();
  if (name !== runtime.toLowerCase()) return false;

  return owner === undefined || owner === workspace.toLowerCase();
}

function registrationLost(vmName: string, runtimeName: string, nodeName: string): DoctorError {
  return new DoctorError({
    code: 'registration-lost',
    what: `VM ${vmName} has a runtime registered to ${runtimeName}, but ${runtimeName} ` +
      `lists no node ${nodeName}.`,
    why: 'The registration never reached the service (or the node was removed there); the ' +
      'runtime on the VM refuses a second registration.',
    fix: `Uninstall Microsoft Integration Runtime on ${vmName} (Run Command: msiexec /x), ` +
      'then run shir-doctor again to install and register it afresh.',
  });
}

function registeredElsewhere(vmName: string, other: string): DoctorError {
  return new DoctorError({
    code: 'vm-hosts-other-runtime',
    what: `VM ${vmName} already hosts a runtime registered to ${other}.`,
    why: 'A machine can host only one self-hosted runtime; installing a second would break ' +
      'the first.',
    fix: 'Choose another VM with --vm-name, or omit --vm-name to let shir-doctor create one.',
    exitCode: ExitCode.blocked,
  });
}

async function installWithRetries(
  context: FixContext,
  io: StepIO,
  authKey: string,
): Promise<ScriptRun> {
  const delays = tuningOf(context).installRetryDelaysMs;
  for (let attempt = 0; ; attempt += 1) {
    io.progress(attempt === 0 ? 'installing the runtime (download, MSI, registration)'
      : `installing the runtime, attempt ${attempt + 1}`);
    const run = await runInstallScript(context, io, authKey);
    if (run.exitCode === INSTALL_EXIT.ok) return run;

    const msiCode = msiExitOf(run);
    const delay = delays[attempt];
    if (msiCode !== MSI_BUSY || delay === undefined) {
      throw new DoctorError(installFailure(run, attempt + 1));
    }
    io.progress(`MSI ${MSI_BUSY}: ${MSI_EXIT_MEANING[MSI_BUSY]}; retrying in ` +
      `${Math.round(delay / 1000)} s`);
    await sleep(delay, io.signal);
  }
}

function runInstallScript(context: FixContext, io: StepIO, authKey: string): Promise<ScriptRun> {
  const { host, nodeName } = context.decisions;
  return runScript(context, io.journal, {
    kind: 'install',
    vmName: host.vmName,
    parameters: {
      [PARAM.nodeName]: nodeName,
      ...proxyParameters(context.target.proxyUrl).plain,
    },
    protectedParameters: { [PARAM.authKey]: authKey,
      ...proxyParameters(context.target.proxyUrl).secret },
  });
}

/** The msiexec exit code behind a failed install: the raw exit code, or the msi stage line. */
export function msiExitOf(run: ScriptRun): number | undefined {
  if (run.exitCode !== undefined && run.exitCode in MSI_EXIT_MEANING) return run.exitCode;

  const record = run.records.find((item) => item.stage === 'msi' && item.status === 'failed');
  const raw = record?.msiExit ?? record?.exitCode ?? record?.code;
  const code = raw === undefined ? Number.NaN : Number.parseInt(raw, 10);
  return Number.isFinite(code) ? code : undefined;
}

/** Maps a failed install run to what happened, why, and the next step. */
export function installFailure(run: ScriptRun, attempts = 1): ErrorInfo {
  const why = evidenceOf(run);
  const base = { why, exitCode: ExitCode.applyFailed as ErrorInfo['exitCode'] };
  if (run.exitCode === undefined) return { ...base, ...notFinished(run) };

  const msiCode = msiExitOf(run);
  if (msiCode !== undefined) return { ...base, ...msiFailure(msiCode, attempts) };

  const known = EXIT_ADVICE[run.exitCode];
  if (known) return { ...base, ...known, exitCode: known.exitCode ?? base.exitCode };

  return {
    ...base,
    code: 'install-failed',
    what: `The install script failed with exit code ${run.exitCode}.`,
    fix: 'Read the script output above; fix the cause on the VM and run shir-doctor again.',
  };
}

function notFinished(run: ScriptRun): { code: string; what: string; fix: string } {
  return {
    code: 'run-command-unfinished',
    what: `Run Command did not report an exit code (state ${run.executionState ?? 'unknown'}).`,
    fix: 'Check that the VM is running and its VM agent is Ready (portal: VM > Properties), ' +
      'then run shir-doctor again.',
  };
}

function msiFailure(code: number, attempts: number): { code: string; what: string; fix: string } {
  const meaning = MSI_EXIT_MEANING[code] ?? 'an unexpected Windows Installer error';
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return {
    code: `msi-${code}`,
    what: `The runtime MSI failed with exit code ${code} (${meaning})${tries}.`,
    fix: MSI_FIX[code] ?? 'Read the MSI log on the VM (%TEMP%\\shir-doctor-msi.log), fix the ' +
      'cause and run shir-doctor again.',
  };
}

const MSI_FIX: Record<number, string> = {
  1603: 'Read the MSI log on the VM (%TEMP%\\shir-doctor-msi.log); free disk space and ' +
    'check .NET Framework 4.7.2+, then run shir-doctor again.',
  1618: 'Wait until the other installation on the VM (often Windows Update) has finished, ' +
    'then run shir-doctor again.',
  1619: 'The downloaded MSI is damaged; run shir-doctor again to download it anew.',
  1638: 'Another version of the runtime is installed: uninstall it on the VM (or upgrade it ' +
    'from its Configuration Manager), then run shir-doctor again.',
  3010: 'Restart the VM to complete the install, then run shir-doctor again.',
};

type Advice = { code: string; what: string; fix: string; exitCode?: ErrorInfo['exitCode'] };

const EXIT_ADVICE: Record<number, Advice> = {
  [INSTALL_EXIT.badParameters]: {
    code: 'install-bad-parameters',
    what: 'The install script rejected its parameters.',
    fix: 'Use a VM (node) name of letters, digits and hyphens and a proxy URL of the ' +
      'form http://host:port, then run shir-doctor again.',
    exitCode: ExitCode.usage,
  },
  [INSTALL_EXIT.prerequisites]: {
    code: 'install-prerequisites',
    what: 'The VM does not meet the runtime\'s prerequisites.',
    fix: 'Use 64-bit Windows Server 2016 or later with .NET Framework 4.7.2+ (pass another ' +
      '--vm-name), or omit --vm-name to let shir-doctor create a suitable VM.',
    exitCode: ExitCode.blocked,
  },
  [INSTALL_EXIT.downloadFailed]: {
    code: 'install-download-failed',
    what: 'The VM could not download the runtime installer.',
    fix: 'Let the VM reach go.microsoft.com and download.microsoft.com on port 443 (NAT ' +
      'gateway, firewall or NSG), or pass --proxy if egress goes through a proxy.',
  },
  [INSTALL_EXIT.signatureInvalid]: {
    code: 'install-signature-invalid',
    what: 'The downloaded installer is not validly signed by Microsoft; it was not run.',
    fix: 'Something between the VM and Microsoft altered the download (a TLS-inspecting ' +
      'proxy?); fix that path and run shir-doctor again. Never install it by hand.',
    exitCode: ExitCode.blocked,
  },
  [INSTALL_EXIT.msiFailed]: {
    code: 'install-msi-failed',
    what: 'The runtime MSI failed and the script did not report its exit code.',
    fix: 'Read the MSI log on the VM (%TEMP%\\shir-doctor-msi.log), fix the cause and run ' +
      'shir-doctor again.',
  },
  [INSTALL_EXIT.registeredElsewhere]: {
    code: 'vm-hosts-other-runtime',
    what: 'The runtime on this VM is already registered to another integration runtime.',
    fix: 'Choose another VM with --vm-name, or omit --vm-name to let shir-doctor create one.',
    exitCode: ExitCode.blocked,
  },
  [INSTALL_EXIT.registrationFailed]: {
    code: 'install-registration-failed',
    what: 'The runtime installed, but registering the node with the key failed.',
    fix: 'Check that the VM reaches *.servicebus.windows.net and the service endpoint on 443 ' +
      '(pass --proxy behind a proxy), and that the key is current (regenerate it in ' +
      'Synapse Studio if it was rotated), then run shir-doctor again.',
  },
  [INSTALL_EXIT.serviceNotRunning]: {
    code: 'install-service-not-running',
    what: 'The runtime installed and registered, but its Windows service DIAHostService is ' +
      'not running.',
    fix: 'Restart the VM, or run Start-Service DIAHostService on it (Run Command); check the ' +
      'Integration Runtime event log if it stops again.',
  },
};

/** The script's own words: its failed stage lines and the tail of its output (redacted). */
function evidenceOf(run: ScriptRun): string {
  const tail = tailOf([run.output, run.error].filter((text) => text.trim()).join('\n'), 10);
  const failed = run.output.split(/\r?\n/)
    .filter((line) => line.startsWith('SHIR-DOCTOR ') && line.includes(' status=failed'))
    .filter((line) => !tail.includes(line));
  return [...failed, tail].filter((text) => text.length > 0).join('\n');
}
