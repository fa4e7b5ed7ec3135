/**
 * The `online` step: the node is registered only when the service says so.
 *
 * Policy (F11): the install script's exit code is never trusted alone. Poll `getStatus` until
 * our node reports Online, with a deadline and a doubling, capped interval; on timeout report
 * the node's state, the diagnosis of its capabilities and the install script's (redacted)
 * output.
 */
import { DoctorError, ExitCode } from '../engine/errors.js';
import type { Step, StepIO, StepOutcome } from '../engine/step.js';
import type { Finding } from '../engine/types.js';
import type { FixContext, NodeView, RuntimeView } from './context.js';
import { tailOf } from './guest.js';
import { sleep, tuningOf } from './resources.js';
import {
  diagnoseNode,
  findNode,
  readRuntimeStatus,
  serviceBusUnresolved,
  type NodeFacts,
} from './runtime.js';

export function onlineStep(): Step<FixContext> {
  return {
    id: 'online',
    title: 'Wait for the node to report Online',
    dependsOn: ['install'],
    run: runOnline,
  };
}

async function runOnline(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const { runtimeName, nodeName } = context.decisions;
  const { onlineDeadlineMs, pollIntervalMs } = tuningOf(context);
  const started = Date.now();

  let runtime: RuntimeView | undefined;
  for (let poll = 0; ; poll += 1) {
    runtime = await readRuntimeStatus(context.clients, context.target, runtimeName);
    const node = findNode(runtime, nodeName);
    if (node?.status === 'Online') return nodeOnline(context, node);

    const elapsed = Date.now() - started;
    if (elapsed >= onlineDeadlineMs) break;
    io.progress(`node ${nodeName}: ${node?.status ?? 'not listed yet'} ` +
      `(${Math.round(elapsed / 1000)} s of ${Math.round(onlineDeadlineMs / 1000)} s)`);
    await sleep(Math.min(pollDelay(pollIntervalMs, poll), onlineDeadlineMs - elapsed), io.signal);
  }

  throw notOnline(context, runtime, onlineDeadlineMs);
}

/** Longest wait between two status polls once the backoff has grown. */
export const MAX_POLL_MS = 15_000;

/**
 * The wait before the next status poll: doubling from the tuned interval, capped, so a quick
 * registration is seen at once and a slow one does not hammer the API.
 */
export function pollDelay(intervalMs: number, poll: number): number {
  return Math.min(intervalMs * 2 ** Math.min(poll, 16), Math.max(intervalMs, MAX_POLL_MS));
}

/** The summary carries no time of its own: every presenter adds the step's elapsed time. */
function nodeOnline(context: FixContext, node: NodeView): StepOutcome {
  context.produced.isNodeOnline = true;
  const version = node.version ? `, version ${node.version}` : '';
  return { status: 'succeeded', summary: `Node ${node.nodeName} is Online${version}` };
}

/** The timeout error: what the service shows, why, and what to do next. */
export function notOnline(
  context: Pick<FixContext, 'decisions' | 'produced'>,
  runtime: RuntimeView | undefined,
  deadlineMs: number,
): DoctorError {
  const { nodeName, runtimeName } = context.decisions;
  const node = findNode(runtime, nodeName);
  const facts = { unresolvedHosts: context.produced.unresolvedHosts };
  const findings = node ? diagnoseNode(node, runtime, facts) : [];
  const state = node ? `node ${nodeName} is ${node.status}` : `node ${nodeName} is not listed`;

  return new DoctorError({
    code: 'node-not-online',
    what: `The runtime on the VM did not come Online within ${Math.round(deadlineMs / 1000)} s: ` +
      `${state} (runtime ${runtimeName} is ${runtime?.state ?? 'unknown'}).`,
    why: whyNotOnline(node, findings, context.produced.installOutput),
    fix: fixFor(node, findings, context.decisions.host.vmName, facts),
    exitCode: ExitCode.applyFailed,
  });
}

function whyNotOnline(
  node: NodeView | undefined,
  findings: Finding[],
  installOutput: string | undefined,
): string {
  const lines: string[] = [];
  if (node) {
    const capabilities = Object.entries(node.capabilities)
      .map(([key, value]) => `${key}=${value}`).join(', ');
    if (capabilities) lines.push(`capabilities: ${capabilities}`);
  }
  for (const finding of findings) lines.push(finding.title);
  if (installOutput) lines.push('install script output (last lines):', tailOf(installOutput, 12));
  return lines.join('\n');
}

function fixFor(
  node: NodeView | undefined,
  findings: Finding[],
  vmName: string,
  facts: NodeFacts,
): string {
  const ids = new Set(findings.map((finding) => finding.id));
  if (ids.has('runtime.node-service-bus-dns-failed')) {
    return `Make ${serviceBusUnresolved(facts)} resolvable from the VM: check the VNet's DNS ` +
      'servers and any private DNS zone (privatelink.servicebus.windows.net) that shadows ' +
      '*.servicebus.windows.net, then run shir-doctor verify.';
  }
  if (ids.has('runtime.node-service-bus-blocked')) {
    return 'Allow outbound 443 from the VM to *.servicebus.windows.net (NSG, firewall or ' +
      'proxy; pass --proxy if egress goes through a proxy), then run shir-doctor verify.';
  }
  if (ids.has('runtime.node-resource-manager-unreachable')) {
    return 'Allow outbound 443 from the VM to the service endpoint listed in getStatus ' +
      'serviceUrls, then run shir-doctor verify.';
  }
  if (!node || node.status === 'NeedRegistration') {
    return 'The registration never reached the service: read the script output above and ' +
      `check the key was not regenerated meanwhile; then uninstall Microsoft Integration ` +
      `Runtime on ${vmName} and run shir-doctor again to install and register it afresh.`;
  }
  return 'Check DIAHostService on the VM (Restart-Service DIAHostService through Run Command), ' +
    'then run shir-doctor verify.';
}
