/**
 * The `probe` step: from the VM itself, can every host the runtime needs be reached on 443?
 *
 * Policy (F07, F17, F19): before anything is installed, run probe-egress.ps1 on the VM with the
 * hosts a self-hosted node talks to (a representative `*.servicebus.windows.net` host, the
 * service endpoints from `getStatus` serviceUrls, the installer download hosts) plus the target
 * API, through the proxy when one is given. A failing host fails the step, naming the host and
 * the remedy. The relay namespace behind `*.servicebus.windows.net` is only known after
 * registration, so a DNS failure of the representative host alone is reported, not fatal.
 */
import { DoctorError, ExitCode } from '../engine/errors.js';
import type { Journal, Step, StepIO, StepOutcome } from '../engine/step.js';
import { PARAM, type ProbeResult } from '../wire/guest.js';
import type { FixContext } from './context.js';
import { runScript, tailOf } from './guest.js';
import { findVm } from './network.js';
import { readRuntimeStatus } from './runtime.js';

/**
 * Stands in for `*.servicebus.windows.net` until the node's relay namespace is known: a name
 * under the wildcard, so firewall rules written for the wildcard apply to it.
 */
export const SERVICE_BUS_PROBE_HOST = 'shirdoctorprobe.servicebus.windows.net';

/** Hosts the installer comes from (the fwlink and its redirect target). */
export const DOWNLOAD_HOSTS = ['go.microsoft.com', 'download.microsoft.com'] as const;

/** One host to probe. */
export interface ProbeTarget {
  host: string;
  port: number;
  /** Why the runtime needs it, for the error message. */
  purpose: string;
  /** Stands in for a wildcard; a DNS failure alone is not conclusive. */
  isRepresentative?: boolean;
}

/** One probed host and what the VM saw. */
export interface ProbeHostResult extends ProbeTarget {
  /** `missing` when the script printed no line for the host. */
  result: ProbeResult | 'missing';
  ms?: number;
}

/** Everything one probe run found; `failures` are the results that block the runtime. */
export interface ProbeReport {
  vmName: string;
  results: ProbeHostResult[];
  failures: ProbeHostResult[];
  /** Representative hosts that did not resolve (reported, not failing). */
  warnings: ProbeHostResult[];
  /** Redacted script output. */
  output: string;
}

export function probeStep(): Step<FixContext> {
  return {
    id: 'probe',
    title: 'Egress probe from the VM',
    dependsOn: ['vm'],
    run: runProbeStep,
  };
}

async function runProbeStep(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const { vmName } = context.decisions.host;
  const vm = await findVm(context.clients, context.target, vmName);
  if (!vm) return { status: 'skipped', reason: `no VM named ${vmName} to probe from` };

  io.progress(`probing egress from ${vmName}`);
  const hosts = await probeTargets(context);
  const report = await runProbe(context, hosts, io.journal);
  context.produced.unresolvedHosts = report.warnings.map((item) => item.host);
  if (report.failures.length > 0) throw probeFailure(report);

  const total = report.results.length;
  const reached = total - report.warnings.length;
  const note = report.warnings.length > 0
    ? ` (${report.warnings.map((item) => item.host).join(', ')} did not resolve)`
    : '';
  return { status: 'succeeded', summary: `${vmName} reaches ${reached} of ${total} hosts${note}` };
}

/** The hosts the runtime needs, from what is known now (status, key, API URL). */
export async function probeTargets(context: FixContext): Promise<ProbeTarget[]> {
  const runtime = await readRuntimeStatus(context.clients, context.target,
    context.decisions.runtimeName).catch(() => undefined);
  return buildProbeTargets({
    serviceUrls: runtime?.serviceUrls ?? [],
    authKey: context.produced.authKey,
    apiUrl: context.decisions.apiUrl ?? context.target.apiUrl,
  });
}

/** Pure: the probe list from service URLs, the key's service endpoint and the API URL. */
export function buildProbeTargets(input: {
  serviceUrls: string[];
  authKey?: string;
  apiUrl?: string;
}): ProbeTarget[] {
  const targets: ProbeTarget[] = [{ host: SERVICE_BUS_PROBE_HOST, port: 443,
    purpose: 'the runtime\'s relay (*.servicebus.windows.net)', isRepresentative: true }];

  for (const url of input.serviceUrls) {
    const host = hostOf(url);
    if (host && !host.startsWith('*.')) {
      targets.push({ host, port: 443, purpose: 'the runtime service endpoint' });
    }
  }
  const endpoint = input.authKey?.match(/@ServiceEndpoint=([^@\s]+)@/)?.[1];
  if (endpoint) targets.push({ host: endpoint, port: 443, purpose: 'the service endpoint' });

  for (const host of DOWNLOAD_HOSTS) {
    targets.push({ host, port: 443, purpose: 'runtime downloads and updates' });
  }
  const api = input.apiUrl ? apiTarget(input.apiUrl) : undefined;
  if (api) targets.push(api);
  return dedupe(targets);
}

function hostOf(url: string): string | undefined {
  const trimmed = url.trim().replace(/^[a-z]+:\/\//i, '');
  const host = trimmed.split(/[/:?#]/, 1)[0]?.toLowerCase();
  return host ? host : undefined;
}

function apiTarget(apiUrl: string): ProbeTarget | undefined {
  try {
    const url = new URL(apiUrl);
    const port = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
    return { host: url.hostname.toLowerCase(), port, purpose: 'the target API' };
  } catch {
    return undefined;
  }
}

function dedupe(targets: ProbeTarget[]): ProbeTarget[] {
  const seen = new Set<string>();
  return targets.filter((target) => {
    const key = `${target.host}:${target.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A journal for read-only callers (verify): the probe's run command is recorded nowhere. */
const UNRECORDED: Journal = {
  sessionId: 'unrecorded',
  directory: '',
  intend: async () => 'unrecorded',
  conclude: async () => undefined,
  backup: async () => '',
  remember: async () => undefined,
  recall: () => undefined,
};

/** Runs the probe script on the decided VM and reads one result per host. */
export async function runProbe(
  context: FixContext,
  hosts: ProbeTarget[],
  journal: Journal = UNRECORDED,
): Promise<ProbeReport> {
  const { vmName } = context.decisions.host;
  const run = await runScript(context, journal, {
    kind: 'probe',
    vmName,
    parameters: {
      [PARAM.hosts]: hosts.map((target) => `${target.host}:${target.port}`).join(','),
      ...proxyParameters(context.target.proxyUrl).plain,
    },
    protectedParameters: proxyParameters(context.target.proxyUrl).secret,
  });
  return readProbe(vmName, hosts, run.records, run.output);
}

/**
 * Where the ProxyUrl parameter travels: plain, or protected when the URL carries credentials
 * (`user:password@host`), since plain Run Command parameters are readable on the VM resource.
 */
export function proxyParameters(proxyUrl: string | undefined): {
  plain: Record<string, string>;
  secret: Record<string, string>;
} {
  if (!proxyUrl) return { plain: {}, secret: {} };

  const entry = { [PARAM.proxyUrl]: proxyUrl };
  return hasCredentials(proxyUrl) ? { plain: {}, secret: entry } : { plain: entry, secret: {} };
}

function hasCredentials(proxyUrl: string): boolean {
  try {
    const url = new URL(proxyUrl);
    return url.username !== '' || url.password !== '';
  } catch {
    return proxyUrl.includes('@');
  }
}

/** Pure: matches `SHIR-DOCTOR probe host=.. port=.. result=.. ms=..` lines to the targets. */
export function readProbe(
  vmName: string,
  hosts: ProbeTarget[],
  records: Array<Record<string, string>>,
  output: string,
): ProbeReport {
  const results = hosts.map((target): ProbeHostResult => {
    const line = records.find((record) => record.host?.toLowerCase() === target.host &&
      (record.port === undefined || Number(record.port) === target.port));
    const result = (line?.result ?? 'missing') as ProbeHostResult['result'];
    const ms = line?.ms === undefined ? undefined : Number(line.ms);
    return { ...target, result, ms: Number.isFinite(ms) ? ms : undefined };
  });

  const isInconclusive = (item: ProbeHostResult): boolean =>
    !!item.isRepresentative && item.result === 'dns-failed';
  return {
    vmName,
    results,
    failures: results.filter((item) => item.result !== 'ok' && !isInconclusive(item)),
    warnings: results.filter(isInconclusive),
    output,
  };
}

/** Names the first failing host, what the VM saw, and the remedy. */
export function probeFailure(report: ProbeReport): DoctorError {
  const [first] = report.failures;
  const others = report.failures.slice(1).map((item) => `${item.host}:${item.port} ` +
    `${item.result}`);
  const why = [`${first.host}:${first.port} is needed for ${first.purpose}.`,
    ...others.map((line) => `also failing: ${line}`), tailOf(report.output, 8)]
    .filter((line) => line.length > 0).join('\n');

  return new DoctorError({
    code: `egress-${first.result}`,
    what: `VM ${report.vmName} cannot reach ${first.host}:${first.port} (${first.result}).`,
    why,
    fix: remedyFor(first),
    exitCode: ExitCode.blocked,
  });
}

/** What to do about one failing host. */
export function remedyFor(item: ProbeHostResult): string {
  const target = `${item.host}:${item.port}`;
  switch (item.result) {
    case 'dns-failed':
      return `Make ${item.host} resolvable from the VM: check the VNet's DNS servers and ` +
        'any private DNS zone that shadows it.';
    case 'tls-failed':
      return `A proxy or firewall breaks TLS to ${item.host}: exempt it from TLS inspection ` +
        '(the runtime needs TLS 1.2 end to end).';
    case 'proxy-required':
      return `${item.host} is reachable only through a proxy: pass --proxy ` +
        'http://<proxy>:<port> so the probe and the runtime use it.';
    case 'missing':
      return `The probe printed nothing for ${target}: check the VM agent and run ` +
        'shir-doctor again.';
    default:
      return `Give the VM outbound access to ${target}: a NAT gateway or Standard public IP ` +
        'on its subnet, and no NSG, route or firewall rule that blocks it.';
  }
}
