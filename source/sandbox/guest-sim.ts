/**
 * The simulated Windows guest behind Run Command. It recognises shir-doctor's scripts by their
 * first-line marker (source/wire/guest.ts), reads the parameters, and answers the way the real
 * scripts would on a machine in this world:
 *
 * - install: parameters → prerequisites → existing runtime (registered anywhere → exit 7) →
 *   download (needs egress, a ProxyUrl when the scenario requires a proxy, and on `legacy` images
 *   a script that forces TLS 1.2) → msi (1618 while `msiBusyTimes` lasts) → register (the
 *   AuthKey must be a current key of a runtime; node name unused; fewer than 4 nodes) → service.
 *   The registration takes effect when the run completes; the node is Online ~3 s later.
 * - probe: one `SHIR-DOCTOR probe ...` line per `Hosts` entry, from the VM's network.
 * - inspect: one `SHIR-DOCTOR runtime ...` line.
 *
 * The AuthKey is used to find the runtime and then dropped: it is never stored or echoed.
 */
import {
  INSTALL_EXIT, PARAM, SCRIPT_MARKERS, type ProbeResult, type ScriptKind,
} from '../wire/guest.js';
import { reachHost } from './egress.js';
import { idKey } from './http.js';
import type { ArmResource } from './scenario.js';
import { MAX_NODES, refreshNodes, runtimeForKey } from './synapse.js';
import type { World } from './world.js';

/** What a script run produced, and what it changes when it completes. */
export interface ScriptOutcome {
  kind: ScriptKind | 'other';
  exitCode: number;
  output: string;
  error: string;
  /** Duration at timeScale 1. */
  durationMs: number;
  /** A node registration that takes effect when the run completes. */
  register?: Registration;
}

/** A registration to apply at completion. */
export interface Registration {
  runtimeId: string;
  nodeName: string;
  vmId: string;
  /** The runtime reports success but no node ever appears (F11). */
  stalls: boolean;
  serviceBusConnected: boolean;
  /** The proxy the runtime was configured with (F19). */
  proxyUrl?: string;
}

/** Named script parameters. */
export type Params = Record<string, string>;

const RUNTIME_VERSION = '5.44.8984.1';

/** The script kind named by the first non-empty line. */
export function scriptKind(script: string): ScriptKind | 'other' {
  const first = script.split(/\r?\n/).find((l) => l.trim() !== '')?.trim() ?? '';
  const hit = (Object.entries(SCRIPT_MARKERS) as Array<[ScriptKind, string]>)
    .find(([, marker]) => first.toLowerCase() === marker.toLowerCase());
  return hit ? hit[0] : 'other';
}

/** Whether the script sets `[Net.ServicePointManager]::SecurityProtocol` to include Tls12. */
export function forcesTls12(script: string): boolean {
  return script.split(/\r?\n/).some((line) =>
    /\[(System\.)?Net\.ServicePointManager\]::SecurityProtocol\s*=/i.test(line) &&
    /Tls12/i.test(line) && !line.trim().startsWith('#'));
}

/** Runs a script on the VM `vm`. Pure apart from counters on the guest (MSI attempts). */
export function runScript(world: World, vm: ArmResource, script: string, params: Params,
  secret: Params): ScriptOutcome {
  const kind = scriptKind(script);
  // A proxy URL with credentials travels as a protected parameter; the script reads it the same.
  const proxy = secret[PARAM.proxyUrl];
  const all = proxy ? { ...params, [PARAM.proxyUrl]: proxy } : params;
  if (kind === 'install') return install(world, vm, script, all, secret);
  if (kind === 'probe') return probe(world, vm, all);
  if (kind === 'inspect') return inspect(world, vm);
  return { kind, exitCode: 0, output: '', error: '', durationMs: 1000 };
}

/** Applies a completed run's registration. */
export function completeRegistration(world: World, reg: Registration, timeScale: number): void {
  const guest = world.guest(reg.vmId);
  const wsName = reg.runtimeId.split('/')[8];
  const irName = reg.runtimeId.split('/').pop() as string;
  guest.runtime = { registeredTo: `${wsName}/${irName}`, nodeName: reg.nodeName,
    version: RUNTIME_VERSION, proxyUrl: reg.proxyUrl };
  if (reg.stalls) return;

  const rt = world.runtime(reg.runtimeId);
  const vm = world.get(reg.vmId);
  rt.nodes.push({
    nodeName: reg.nodeName,
    machineName: vm?.properties?.osProfile?.computerName ?? vm?.name ?? reg.nodeName,
    status: 'Initializing',
    onlineAt: Date.now() + 3000 * timeScale,
    registerTime: new Date().toISOString(),
    vmId: idKey(reg.vmId),
    version: RUNTIME_VERSION,
    capabilities: reg.serviceBusConnected ? undefined : { serviceBusConnected: 'False' },
  });
}

class Transcript {
  readonly lines: string[] = [];
  errors: string[] = [];

  stage(stage: string, status: 'ok' | 'failed', fields: Record<string, string> = {}): void {
    const extra = Object.keys(fields).sort().map((k) => `${k}=${fields[k].replace(/\s+/g, '_')}`);
    this.lines.push(['SHIR-DOCTOR', `stage=${stage}`, `status=${status}`, ...extra].join(' '));
  }

  say(line: string): void {
    this.lines.push(line);
  }

  end(kind: ScriptKind, exitCode: number, durationMs: number, register?: Registration)
    : ScriptOutcome {
    return { kind, exitCode, output: this.lines.join('\n'), error: this.errors.join('\n'),
      durationMs, register };
  }
}

function install(world: World, vm: ArmResource, script: string, params: Params,
  secret: Params): ScriptOutcome {
  const t = new Transcript();
  const key = secret[PARAM.authKey];
  const nodeName = params[PARAM.nodeName] ?? '';
  const proxyUrl = params[PARAM.proxyUrl];
  if (!key) return fail(t, 'parameters', INSTALL_EXIT.badParameters, 'AuthKey-missing', 300);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,149}$/.test(nodeName)) {
    return fail(t, 'parameters', INSTALL_EXIT.badParameters, 'NodeName-invalid', 300);
  }
  t.stage('parameters', 'ok', { node: nodeName, proxy: proxyUrl ? 'yes' : 'no' });
  t.stage('prerequisites', 'ok', { cores: '4', dotnet: '533320' });

  const guest = world.guest(vm.id);
  if (guest.runtime) {
    return fail(t, 'existing', INSTALL_EXIT.registeredElsewhere, 'runtime-already-registered',
      800);
  }
  t.stage('existing', 'ok', { installed: 'no' });

  const download = downloadFailure(world, vm, script, params);
  if (download) {
    t.errors.push(download.detail);
    return fail(t, 'download', INSTALL_EXIT.downloadFailed, download.reason, 2500,
      { detail: download.detail });
  }
  t.stage('download', 'ok', { bytes: '1146593280' });
  t.stage('signature', 'ok', { signer: 'Microsoft_Corporation' });

  guest.installAttempts = (guest.installAttempts ?? 0) + 1;
  if (guest.installAttempts <= (guest.msiBusyTimes ?? 0)) {
    t.errors.push('msiexec: Another installation is already in progress. Complete that ' +
      'installation before proceeding with this install.');
    return fail(t, 'msi', INSTALL_EXIT.msiFailed, 'msiexec', 3000, { msiExit: '1618' });
  }
  t.stage('msi', 'ok', { msiExit: '0' });
  t.stage('locate', 'ok');
  if (proxyUrl) t.stage('proxy', 'ok');
  return register(world, vm, t, key, nodeName, proxyUrl);
}

function register(world: World, vm: ArmResource, t: Transcript, key: string, nodeName: string,
  proxyUrl: string | undefined): ScriptOutcome {
  const runtimeId = runtimeForKey(world, key);
  if (world.guest(vm.id).echoesAuthKey) echoKey(t, key, nodeName);
  const refusal = registrationRefusal(world, vm, runtimeId, nodeName, proxyUrl);
  if (refusal || !runtimeId) {
    t.say(`Failed to register the node: ${refusal ?? 'unknown runtime'}`);
    return fail(t, 'register', INSTALL_EXIT.registrationFailed, 'dmgcmd', 4000,
      { dmgcmdExit: '1' });
  }
  t.stage('register', 'ok', { node: nodeName });

  const guest = world.guest(vm.id);
  const reg: Registration = {
    runtimeId, nodeName, vmId: vm.id, stalls: guest.registrationStalls === true,
    serviceBusConnected: reachHost(world, vm.id, 'sb-relay.servicebus.windows.net',
      proxyUrl) === 'ok',
    proxyUrl,
  };
  if (guest.serviceFailsToStart) {
    return fail(t, 'service', INSTALL_EXIT.serviceNotRunning, 'not-running', 5000,
      { name: 'DIAHostService' }, { ...reg, stalls: true });
  }
  t.stage('service', 'ok', { name: 'DIAHostService' });
  t.stage('done', 'ok', { node: nodeName });
  return t.end('install', INSTALL_EXIT.ok, 5000, reg);
}

/** A verbose transcript: the registration command line, key and all, on both streams. */
function echoKey(t: Transcript, key: string, nodeName: string): void {
  const line = `dmgcmd.exe -RegisterNewNode "${key}" "${nodeName}"`;
  t.say(line);
  t.errors.push(`VERBOSE: ${line}`);
}

/** Why dmgcmd would refuse to register this node, or undefined when it would succeed. */
function registrationRefusal(world: World, vm: ArmResource, runtimeId: string | undefined,
  nodeName: string, proxyUrl: string | undefined): string | undefined {
  if (!runtimeId) return 'the authentication key is invalid or has been regenerated.';

  const rt = world.runtime(runtimeId);
  refreshNodes(world, rt);
  const irName = runtimeId.split('/').pop() as string;
  if (rt.nodes.some((n) => n.nodeName.toLowerCase() === nodeName.toLowerCase())) {
    return `a node named '${nodeName}' already exists in integration runtime '${irName}'.`;
  }
  if (rt.nodes.length >= MAX_NODES) {
    return `integration runtime '${irName}' already has the maximum of ${MAX_NODES} nodes.`;
  }
  const region = vm.location ?? 'westeurope';
  const endpoint = `${runtimeId.split('/')[8]}.${region}.datafactory.azure.net`;
  if (reachHost(world, vm.id, endpoint, proxyUrl) !== 'ok') {
    return 'the service endpoint could not be reached.';
  }
  return undefined;
}

function fail(t: Transcript, stage: string, exitCode: number, reason: string, durationMs: number,
  fields: Record<string, string> = {}, register?: Registration): ScriptOutcome {
  t.stage(stage, 'failed', { ...fields, reason });
  return t.end('install', exitCode, durationMs, register);
}

function downloadFailure(world: World, vm: ArmResource, script: string, params: Params)
  : { reason: string; detail: string } | undefined {
  const msiUrl = params[PARAM.msiUrl] ?? 'https://go.microsoft.com/fwlink/?linkid=839822';
  const host = safeHost(msiUrl);
  if (isLegacyImage(world, vm) && !forcesTls12(script)) {
    return { reason: 'tls', detail:
      'The request was aborted: Could not create SSL/TLS secure channel.' };
  }
  const result = reachHost(world, vm.id, host, params[PARAM.proxyUrl]);
  if (result === 'ok') return undefined;
  if (result === 'proxy-required') {
    return { reason: 'proxy', detail:
      'The remote server returned an error: (407) Proxy Authentication Required.' };
  }
  if (result === 'dns-failed') {
    return { reason: 'network', detail: `The remote name could not be resolved: '${host}'` };
  }
  if (result === 'tls-failed') {
    return { reason: 'tls', detail: 'The underlying connection was closed: Could not ' +
      'establish trust relationship for the SSL/TLS secure channel.' };
  }
  return { reason: 'network', detail: 'Unable to connect to the remote server' };
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

/** Whether a VM runs an image that negotiates TLS 1.2 only when told to (F09). */
export function isLegacyImage(world: World, vm: ArmResource): boolean {
  const image = world.guest(vm.id).image;
  if (image) return image === 'legacy';
  const sku = String(vm.properties?.storageProfile?.imageReference?.sku ?? '');
  return /2008|2012|2016/.test(sku);
}

function probe(world: World, vm: ArmResource, params: Params): ScriptOutcome {
  const hosts = (params[PARAM.hosts] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  if (hosts.length === 0) {
    return { kind: 'probe', exitCode: 2, error: '', durationMs: 300,
      output: 'SHIR-DOCTOR stage=parameters status=failed reason=Hosts-missing' };
  }
  const lines = hosts.map((entry) => {
    const [host, port = '443'] = entry.split(':');
    const result = reachHost(world, vm.id, host, params[PARAM.proxyUrl]);
    return `SHIR-DOCTOR probe host=${host} port=${port} result=${result} ` +
      `ms=${probeMs(result, host)}`;
  });
  return { kind: 'probe', exitCode: 0, output: lines.join('\n'), error: '', durationMs: 1500 };
}

function probeMs(result: ProbeResult, host: string): number {
  if (result === 'tcp-failed') return 8000;
  if (result === 'dns-failed') return 12 + (host.length % 7);
  return 18 + ((host.length * 13) % 70);
}

function inspect(world: World, vm: ArmResource): ScriptOutcome {
  const runtime = world.guest(vm.id).runtime;
  const line = runtime
    ? `SHIR-DOCTOR runtime installed=yes service=Running registeredTo=` +
      `${runtime.registeredTo.split('/').pop()} version=${runtime.version ?? RUNTIME_VERSION}`
    : 'SHIR-DOCTOR runtime installed=no service=missing registeredTo=none version=unknown';
  return { kind: 'inspect', exitCode: 0, output: line, error: '', durationMs: 800 };
}
