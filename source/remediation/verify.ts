/**
 * Verify: the health checks and the end-to-end test, changing nothing (a temporary test
 * pipeline aside, which is deleted again). Fit for cron and CI: one `check` event per check,
 * exit 0 when all pass, 3 when any fails, 4 when the workspace is not DEP-locked.
 *
 * Checks, in order: workspace posture; runtime state; node health (status and capabilities);
 * runtime version and auto-update (F12); the affected linked services and Web activities point
 * at the runtime; egress probe from the runtime's VM; the end-to-end API test. Checks that need
 * a healthy runtime fail with "not run" when it is not.
 */
import { ExitCode } from '../engine/errors.js';
import type { SessionUI } from '../engine/events.js';
import { hostOf, isRuntimeHealthy } from './classify.js';
import type { EndToEndResult, FixContext, Inventory, RuntimeView } from './context.js';
import type { DetectResult } from './detect.js';
import { makePlan } from './plan.js';
import { probeTargets, remedyFor, runProbe } from './probe.js';
import {
  leftoverTestPipelines,
  removeLeftoverTestPipelines,
  runEndToEnd,
} from './prove.js';
import { artifactsOf } from './rewire.js';
import { diagnoseNode, type NodeFacts } from './runtime.js';
import {
  answerOf,
  detectAndReport,
  finishSession,
  guarded,
  notApplicable,
  openSession,
  type Session,
  type SessionOptions,
  type SessionResult,
} from './session.js';

/** One check's verdict. */
export interface CheckResult {
  name: string;
  isPassing: boolean;
  detail: string;
}

/** Runs every check once and reports each as a `check` event. */
export async function runVerify(options: SessionOptions, ui: SessionUI): Promise<SessionResult> {
  const session = await openSession('verify', options, ui);
  return guarded(session, async () => {
    const detected = await detectAndReport(session);
    if (!detected.inventory.workspace.isDepLocked) {
      session.bus.emit({ type: 'check', ...postureCheck(detected.inventory) });
      return notApplicable(session, detected);
    }

    const context = verifyContext(session, detected);
    const checks: CheckResult[] = [];
    const report = (check: CheckResult): void => {
      checks.push(check);
      session.bus.emit({ type: 'check', ...check });
    };
    const e2e = await runChecks(session, context, report);
    return finishVerify(session, checks, e2e);
  });
}

function verifyContext(session: Session, detected: DetectResult): FixContext {
  const { decisions } = makePlan(detected.inventory, session.options.target,
    { sessionId: session.journal.sessionId });
  const runtimeName = runtimeInUse(detected.inventory) ?? decisions.runtimeName;
  return {
    target: session.options.target,
    clients: session.clients,
    ui: session.ui,
    secrets: session.options.secrets,
    inventory: detected.inventory,
    decisions: { ...decisions, runtimeName,
      apiUrl: verifyApiUrl(detected.inventory, runtimeName, session.options.target.apiUrl) },
    produced: {},
    tuning: session.options.tuning,
  };
}

/** The self-hosted runtime most affected connections point at. */
function runtimeInUse(inventory: Inventory): string | undefined {
  const counts = new Map<string, number>();
  const names = [
    ...inventory.linkedServices.filter((s) => s.classification === 'on-shir')
      .map((s) => s.connectVia),
    ...inventory.pipelines.flatMap((p) => p.webActivities)
      .filter((a) => a.classification === 'on-shir').map((a) => a.connectVia),
  ];
  for (const name of names) if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/** The API to call: --api-url, else a Web activity or linked service URL on the runtime. */
export function verifyApiUrl(
  inventory: Inventory,
  runtimeName: string,
  explicit?: string,
): string | undefined {
  if (explicit) return explicit;
  const onRuntime = (via?: string): boolean => via?.toLowerCase() === runtimeName.toLowerCase();
  const activity = inventory.pipelines.flatMap((p) => p.webActivities)
    .find((a) => onRuntime(a.connectVia) && hostOf(a.url));
  const service = inventory.linkedServices.find((s) => onRuntime(s.connectVia) && hostOf(s.url));
  const pending = inventory.pipelines.flatMap((p) => p.webActivities)
    .find((a) => a.classification === 'external-api' && hostOf(a.url));
  return activity?.url ?? service?.url ?? pending?.url;
}

async function runChecks(
  session: Session,
  context: FixContext,
  report: (check: CheckResult) => void,
): Promise<EndToEndResult | undefined> {
  const { inventory, decisions } = context;
  const runtime = inventory.runtimes.find((item) =>
    item.name.toLowerCase() === decisions.runtimeName.toLowerCase());
  report(postureCheck(inventory));
  report(runtimeCheck(decisions.runtimeName, runtime));
  // The probe runs first so that the node diagnosis can tell DNS from blocked egress.
  const probe = await probeCheck(context);
  report(nodeCheck(runtime, { unresolvedHosts: context.produced.unresolvedHosts }));
  report(versionCheck(runtime));
  report(connectionsCheck(inventory, decisions.runtimeName));

  const isHealthy = runtime !== undefined && isRuntimeHealthy(runtime);
  report(probe);
  const e2e = await endToEnd(session, context, isHealthy);
  report(e2eCheck(e2e, decisions.apiUrl));
  return e2e;
}

export function postureCheck(inventory: Inventory): CheckResult {
  const { workspace } = inventory;
  return {
    name: 'Workspace posture',
    isPassing: workspace.isDepLocked,
    detail: `managedVirtualNetwork = ${workspace.managedVirtualNetwork ?? '(missing)'}, ` +
      `preventDataExfiltration = ${String(workspace.preventDataExfiltration)}`,
  };
}

export function runtimeCheck(name: string, runtime: RuntimeView | undefined): CheckResult {
  if (!runtime) {
    return { name: 'Runtime state', isPassing: false, detail: `${name} does not exist` };
  }
  const nodes = runtime.nodes.map((node) => `${node.nodeName} ${node.status}`).join(', ');
  return {
    name: 'Runtime state',
    isPassing: isRuntimeHealthy(runtime) && !runtime.isShared,
    detail: `${runtime.name}: state ${runtime.state ?? 'unknown'}; nodes: ${nodes || 'none'}` +
      (runtime.isShared ? '; shared runtime (not supported by Synapse)' : ''),
  };
}

export function nodeCheck(runtime: RuntimeView | undefined, facts?: NodeFacts): CheckResult {
  const problems = (runtime?.nodes ?? [])
    .flatMap((node) => diagnoseNode(node, undefined, facts))
    .filter((finding) => finding.severity === 'problem' || finding.severity === 'warning')
    .filter((finding) => !finding.id.includes('version') && !finding.id.includes('update'));
  const hasOnline = (runtime?.nodes ?? []).some((node) => node.status === 'Online');
  return {
    name: 'Node health',
    isPassing: hasOnline && problems.length === 0,
    detail: problems.length > 0 ? problems.map((finding) => finding.title).join('; ')
      : hasOnline ? 'every node connected (capabilities all True)' : 'no Online node',
  };
}

export function versionCheck(runtime: RuntimeView | undefined): CheckResult {
  const findings = (runtime?.nodes ?? [])
    .flatMap((node) => diagnoseNode(node, runtime))
    .filter((finding) => finding.id.includes('version') || finding.id.includes('update'));
  const isBlocking = findings.some((finding) => finding.severity === 'problem');
  return {
    name: 'Runtime version and auto-update',
    isPassing: runtime !== undefined && !isBlocking,
    detail: findings.length > 0 ? findings.map((finding) => finding.title).join('; ')
      : `auto-update ${runtime?.autoUpdate ?? 'unknown'}; versions current`,
  };
}

export function connectionsCheck(inventory: Inventory, runtimeName: string): CheckResult {
  const pending = [
    ...inventory.linkedServices.filter((s) => s.classification === 'external-api')
      .map((s) => `linked service ${s.name}`),
    ...inventory.pipelines.filter((p) => p.classification === 'external-api')
      .map((p) => `pipeline ${p.name}`),
  ];
  const onRuntime = inventory.linkedServices.filter((s) => s.connectVia === runtimeName)
    .map((s) => s.name);
  return {
    name: 'Connections on the self-hosted runtime',
    isPassing: pending.length === 0,
    detail: pending.length > 0
      ? `still on the managed runtime: ${pending.join(', ')}`
      : `external APIs go through ${runtimeName}` +
        (onRuntime.length > 0 ? ` (${onRuntime.join(', ')})` : ''),
  };
}

/** Probes from the runtime's VM even when the runtime is down: that is the diagnosis (F07). */
async function probeCheck(context: FixContext): Promise<CheckResult> {
  const name = 'Egress probe from the VM';
  const vmName = context.decisions.host.vmName;
  const hasVm = context.inventory.vms.some((vm) => vm.name.toLowerCase() === vmName.toLowerCase());
  if (!hasVm) {
    return { name, isPassing: false, detail: `not run: no VM named ${vmName} in the ` +
      'resource group' };
  }
  try {
    const probe = await runProbe(context, await probeTargets(context));
    context.produced.unresolvedHosts = probe.warnings.map((item) => item.host);
    const failed = probe.failures.map((item) => `${item.host}:${item.port} ${item.result}`);
    const [first] = probe.failures;
    return { name, isPassing: failed.length === 0, detail: first
      ? `${vmName} cannot reach ${failed.join(', ')}. ${remedyFor(first)}`
      : `${vmName} reaches ${probe.results.map((item) => item.host).join(', ')}` };
  } catch (error) {
    return { name, isPassing: false, detail: `probe failed to run: ${String(error)}` };
  }
}

async function endToEnd(
  session: Session,
  context: FixContext,
  isHealthy: boolean,
): Promise<EndToEndResult | undefined> {
  const apiUrl = context.decisions.apiUrl;
  if (!isHealthy || !apiUrl) return undefined;
  const input = {
    artifacts: artifactsOf(context),
    journal: session.journal,
    runtimeName: context.decisions.runtimeName,
    apiUrl,
    devEndpoint: context.inventory.workspace.devEndpoint ?? '',
    progress: (message: string) => session.bus.emit({ type: 'log', level: 'info', message }),
    signal: session.options.signal,
    pollIntervalMs: context.tuning?.pollIntervalMs,
  };
  const { stateDir, target } = session.options;
  await removeLeftoverTestPipelines(input,
    await leftoverTestPipelines(stateDir, target, session.journal.sessionId));
  return runEndToEnd(input);
}

function e2eCheck(e2e: EndToEndResult | undefined, apiUrl: string | undefined): CheckResult {
  const name = 'End-to-end API test';
  if (!e2e) {
    return { name, isPassing: false, detail: !apiUrl
      ? 'not run: no API URL known; pass --api-url' : 'not run: the runtime is not healthy' };
  }
  return { name, isPassing: e2e.isPassing, detail: e2e.isPassing ? e2e.detail
    : `${e2e.status === 'timeout' ? 'timed out' : 'failed'}: ${e2e.detail}` };
}

function finishVerify(
  session: Session,
  checks: CheckResult[],
  e2e: EndToEndResult | undefined,
): Promise<SessionResult> {
  const failed = checks.filter((check) => !check.isPassing);
  const isHealthy = failed.length === 0;
  return finishSession(session, {
    outcome: isHealthy ? 'healthy' : 'unhealthy',
    headline: isHealthy
      ? `All ${checks.length} checks passed` +
        (e2e ? `; through ${e2e.runtimeName}, ${answerOf(e2e)}.` : '.')
      : `${failed.length} of ${checks.length} checks failed: ` +
        failed.map((check) => check.name).join(', '),
    exitCode: isHealthy ? ExitCode.ok : ExitCode.unhealthy,
    isApiReachable: e2e?.isPassing,
    nextCommands: isHealthy ? [] : ['shir-doctor plan', 'shir-doctor fix'],
  });
}
