/**
 * The self-hosted integration runtime: create it, fetch its key, clear stale nodes, read and
 * diagnose its status.
 *
 * Policy:
 * - A runtime whose body carries `linkedInfo` is a shared (linked) runtime, which Synapse does
 *   not support: never reuse it (F05).
 * - A runtime has at most four nodes: one that already has four and none of them ours gets no
 *   fifth (F15).
 * - The auth key is registered with the redactor the moment it arrives and lives only in
 *   `context.produced.authKey`; it is never journaled, emitted or returned in a summary.
 * - A node with our node name that no machine serves (Offline, NeedRegistration,
 *   InitializeFailed) is removed only when the approved plan lists it (F14); a node that has
 *   come back to life meanwhile is kept.
 * - An existing runtime with auto-update Off or a node behind `latestVersion` (or expired) gets
 *   auto-update turned On and an upgrade, only when the approved plan lists it (F12), once the
 *   node is Online (the service upgrades Online nodes only). The live status is read before
 *   each change, so a rerun changes nothing. Rollback does not downgrade.
 */
import type { AzureClients } from '../azure/types.js';
import { DoctorError, ExitCode } from '../engine/errors.js';
import { registerSecret } from '../engine/redact.js';
import type { Step, StepIO, StepOutcome } from '../engine/step.js';
import type { Finding, Target } from '../engine/types.js';
import type { FixContext, NodeView, RuntimeUpdateDecision, RuntimeView } from './context.js';
import { asDoctorError, isNotFound, journaled, sleep, tuningOf } from './resources.js';

/** Synapse allows at most this many nodes per self-hosted runtime. */
export const MAX_NODES = 4;

/** Reads a runtime and, when self-hosted, its status; undefined when it does not exist. */
export async function readRuntimeStatus(
  clients: AzureClients,
  target: Target,
  runtimeName: string,
): Promise<RuntimeView | undefined> {
  const { resourceGroup, workspaceName } = target;
  let resource;
  try {
    resource = await clients.synapse.integrationRuntimes.get(resourceGroup, workspaceName,
      runtimeName);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw asDoctorError(error, 'read the integration runtime', runtimeName);
  }

  const properties = resource.properties as { type?: string; linkedInfo?: unknown } | undefined;
  const type = properties?.type === 'SelfHosted' ? 'SelfHosted' : 'Managed';
  const view: RuntimeView = { name: runtimeName, type, isShared: !!properties?.linkedInfo,
    nodes: [] };
  if (type !== 'SelfHosted') return view;

  return { ...view, ...(await readStatus(clients, target, runtimeName)) };
}

async function readStatus(
  clients: AzureClients,
  target: Target,
  runtimeName: string,
): Promise<Partial<RuntimeView>> {
  let response;
  try {
    response = await clients.synapse.integrationRuntimeStatusOperations.get(
      target.resourceGroup, target.workspaceName, runtimeName);
  } catch (error) {
    throw asDoctorError(error, 'read the integration runtime status', runtimeName);
  }
  return toStatusView(response.properties as unknown as Record<string, unknown>);
}

/** Maps the SDK's (flattened) status object to the parts of a RuntimeView it fills. */
export function toStatusView(status: Record<string, unknown>): Partial<RuntimeView> {
  const nodes = Array.isArray(status.nodes) ? status.nodes : [];
  return {
    state: asString(status.state),
    autoUpdate: asString(status.autoUpdate),
    latestVersion: asString(status.latestVersion),
    serviceUrls: Array.isArray(status.serviceUrls) ? status.serviceUrls.map(String) : [],
    nodes: nodes.map((node) => toNodeView(node as Record<string, unknown>)),
  };
}

function toNodeView(node: Record<string, unknown>): NodeView {
  const capabilities = (node.capabilities ?? {}) as Record<string, unknown>;
  return {
    nodeName: asString(node.nodeName) ?? '',
    machineName: asString(node.machineName),
    status: asString(node.status) ?? 'Unknown',
    version: asString(node.version),
    versionStatus: asString(node.versionStatus),
    capabilities: Object.fromEntries(
      Object.entries(capabilities).map(([key, value]) => [key, String(value)]),
    ),
  };
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Finds a node by name, case-insensitively (node names are case-insensitive in the service). */
export function findNode(
  runtime: RuntimeView | undefined,
  nodeName: string,
): NodeView | undefined {
  return runtime?.nodes.find((node) => node.nodeName.toLowerCase() === nodeName.toLowerCase());
}

/** What else is known about the node's machine, e.g. from the egress probe. */
export interface NodeFacts {
  /** Hosts that did not resolve from the VM (probe result `dns-failed`). */
  unresolvedHosts?: string[];
}

/**
 * What is wrong with one node, as findings with the wire facts behind them. A healthy,
 * up-to-date node yields no findings. Pass the runtime for version and auto-update checks,
 * and the probe's facts so a lost service bus is blamed on DNS when the name did not resolve.
 */
export function diagnoseNode(
  node: NodeView,
  runtime?: RuntimeView,
  facts: NodeFacts = {},
): Finding[] {
  const findings = [
    ...statusFindings(node),
    ...capabilityFindings(node, facts),
    ...versionFindings(node, runtime),
  ];
  return findings;
}

function statusFindings(node: NodeView): Finding[] {
  const subject = node.nodeName;
  const evidence = [`status = ${node.status}`];
  switch (node.status) {
    case 'NeedRegistration':
      return [{ id: 'runtime.node-need-registration', severity: 'problem', subject, evidence,
        title: `Node ${subject} is not registered: the install did not complete registration` }];
    case 'Offline':
      return [{ id: 'runtime.node-offline', severity: 'problem', subject, evidence,
        title: `Node ${subject} is Offline: its machine is off, or its service is stopped` }];
    case 'InitializeFailed':
      return [{ id: 'runtime.node-initialize-failed', severity: 'problem', subject, evidence,
        title: `Node ${subject} failed to initialize` }];
    case 'Limited':
      return [{ id: 'runtime.node-limited', severity: 'warning', subject, evidence,
        title: `Node ${subject} is Limited: some connections it needs are failing` }];
    default:
      return [];
  }
}

function capabilityFindings(node: NodeView, facts: NodeFacts): Finding[] {
  const subject = node.nodeName;
  const capabilities = node.capabilities;
  const findings: Finding[] = [];
  const unresolved = serviceBusUnresolved(facts);
  if (isFalse(capabilities.serviceBusConnected) && unresolved) {
    findings.push({
      id: 'runtime.node-service-bus-dns-failed',
      severity: 'problem',
      subject,
      title: `Node ${subject} cannot reach *.servicebus.windows.net: DNS resolution failed ` +
        `for ${unresolved} on the VM`,
      evidence: ['capabilities.serviceBusConnected = False', `status = ${node.status}`,
        `egress probe: ${unresolved} dns-failed`],
    });
  } else if (isFalse(capabilities.serviceBusConnected)) {
    findings.push({
      id: 'runtime.node-service-bus-blocked',
      severity: 'problem',
      subject,
      title: `Node ${subject} cannot reach *.servicebus.windows.net: outbound 443 is blocked`,
      evidence: ['capabilities.serviceBusConnected = False', `status = ${node.status}`],
    });
  }
  if (isFalse(capabilities.connectedToResourceManager)) {
    findings.push({
      id: 'runtime.node-resource-manager-unreachable',
      severity: 'problem',
      subject,
      title: `Node ${subject} cannot reach the service endpoint in its key`,
      evidence: ['capabilities.connectedToResourceManager = False'],
    });
  }
  if (isFalse(capabilities.credentialInSync)) {
    findings.push({ id: 'runtime.node-credential-out-of-sync', severity: 'warning', subject,
      title: `Node ${subject} has credentials out of sync with the other nodes`,
      evidence: ['capabilities.credentialInSync = False'] });
  }
  return findings;
}

/** The first `*.servicebus.windows.net` host the probe could not resolve, if any. */
export function serviceBusUnresolved(facts: NodeFacts): string | undefined {
  return facts.unresolvedHosts?.find((host) => host.toLowerCase()
    .endsWith('.servicebus.windows.net'));
}

function isFalse(value: string | undefined): boolean {
  return value?.toLowerCase() === 'false';
}

function versionFindings(node: NodeView, runtime?: RuntimeView): Finding[] {
  const subject = node.nodeName;
  const findings: Finding[] = [];
  const versionStatus = node.versionStatus ?? '';
  if (/expired/i.test(versionStatus)) {
    findings.push({ id: 'runtime.node-version-expired', severity: 'problem', subject,
      title: `Node ${subject} runs an expired runtime version (${node.version ?? 'unknown'})`,
      evidence: [`versionStatus = ${versionStatus}`, `version = ${node.version ?? '?'}`] });
  }

  const latest = runtime?.latestVersion;
  if (node.version && latest && compareVersions(node.version, latest) < 0) {
    findings.push({ id: 'runtime.node-version-behind',
      severity: majorOf(node.version) < majorOf(latest) ? 'problem' : 'warning', subject,
      title: `Node ${subject} runs ${node.version}; ${latest} is available`,
      evidence: [`version = ${node.version}`, `latestVersion = ${latest}`] });
  }

  if (findings.length > 0 && runtime?.autoUpdate?.toLowerCase() === 'off') {
    findings.push({ id: 'runtime.auto-update-off', severity: 'warning', subject: runtime.name,
      title: `Auto-update is off on ${runtime.name}: the nodes will not update themselves`,
      evidence: ['autoUpdate = Off'] });
  }
  return findings;
}

/** Compares dotted version numbers (`5.44.8984.1` < `5.50.9171.1`). */
export function compareVersions(left: string, right: string): number {
  const a = left.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const b = right.split('.').map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

function majorOf(version: string): number {
  return Number.parseInt(version.split('.')[0] ?? '0', 10) || 0;
}

export function runtimeStep(): Step<FixContext> {
  return { id: 'runtime', title: 'Self-hosted integration runtime', dependsOn: [],
    run: runRuntime };
}

async function runRuntime(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const { runtimeName, nodeName } = context.decisions;
  const existing = await readRuntimeStatus(context.clients, context.target, runtimeName);
  if (existing) {
    checkReusable(existing, nodeName);
    context.produced.runtimeId = runtimeId(context, runtimeName);
    const state = existing.state ?? 'state unknown';
    return { status: 'succeeded',
      summary: `Found ${runtimeName} (${state}, ${existing.nodes.length} node(s))` };
  }

  await createRuntime(context, io, runtimeName);
  context.produced.runtimeId = runtimeId(context, runtimeName);
  return { status: 'succeeded', summary: `Created self-hosted runtime ${runtimeName}` };
}

/** Throws when a runtime must not be used (F05, F15, not self-hosted). */
export function checkReusable(runtime: RuntimeView, nodeName: string): void {
  if (runtime.type !== 'SelfHosted') {
    throw new DoctorError({
      code: 'runtime-not-self-hosted',
      what: `Integration runtime ${runtime.name} exists and is ${runtime.type}, not self-hosted.`,
      fix: 'Give shir-doctor\'s runtime another name: a self-hosted runtime cannot share a ' +
        'name with a managed one.',
      exitCode: ExitCode.blocked,
    });
  }
  if (runtime.isShared) {
    throw new DoctorError({
      code: 'runtime-shared',
      what: `Integration runtime ${runtime.name} is a shared (linked) runtime.`,
      why: 'Its definition carries linkedInfo; Synapse does not support shared or linked ' +
        'self-hosted runtimes, so pipelines in this workspace cannot use it.',
      fix: 'Leave this runtime alone and let shir-doctor create a new self-hosted runtime under ' +
        'another name (run shir-doctor plan to see it).',
      exitCode: ExitCode.blocked,
    });
  }
  if (runtime.nodes.length >= MAX_NODES && !findNode(runtime, nodeName)) {
    throw new DoctorError({
      code: 'runtime-full',
      what: `Integration runtime ${runtime.name} already has ${runtime.nodes.length} nodes.`,
      why: `A self-hosted runtime holds at most ${MAX_NODES} nodes; a fifth cannot register.`,
      fix: 'Reuse one of its healthy nodes, remove an unused node in Synapse Studio ' +
        '(Manage > Integration runtimes), or let shir-doctor create a new runtime.',
      exitCode: ExitCode.blocked,
    });
  }
}

function runtimeId(context: FixContext, runtimeName: string): string {
  const { subscriptionId, resourceGroup, workspaceName } = context.target;
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/` +
    `Microsoft.Synapse/workspaces/${workspaceName}/integrationRuntimes/${runtimeName}`;
}

async function createRuntime(context: FixContext, io: StepIO, runtimeName: string): Promise<void> {
  const { resourceGroup, workspaceName } = context.target;
  const intent = { action: 'create' as const, kind: 'integration-runtime' as const,
    name: runtimeName, resourceId: runtimeId(context, runtimeName) };
  io.progress(`creating self-hosted runtime ${runtimeName}`);
  await journaled(io.journal, intent, 'create the integration runtime', () =>
    context.clients.synapse.integrationRuntimes.beginCreateAndWait(resourceGroup, workspaceName,
      runtimeName, {
        properties: {
          type: 'SelfHosted',
          description: `Created by shir-doctor (session ${io.journal.sessionId}) for ` +
            'external API calls from a DEP-locked workspace.',
        },
      }, { updateIntervalInMs: context.tuning?.pollIntervalMs }),
  );
}

export function authKeyStep(): Step<FixContext> {
  return { id: 'auth-key', title: 'Runtime authentication key', dependsOn: ['runtime'],
    run: runAuthKey };
}

async function runAuthKey(context: FixContext): Promise<StepOutcome> {
  const { runtimeName, nodeName } = context.decisions;
  const runtime = await readRuntimeStatus(context.clients, context.target, runtimeName);
  if (findNode(runtime, nodeName)?.status === 'Online') {
    return { status: 'skipped', reason: `node ${nodeName} is already registered and Online` };
  }

  const key = await fetchAuthKey(context, runtimeName);
  registerSecret(key);
  context.produced.authKey = key;
  return { status: 'succeeded',
    summary: `Fetched the key of ${runtimeName} (kept in memory only)` };
}

async function fetchAuthKey(context: FixContext, runtimeName: string): Promise<string> {
  const { resourceGroup, workspaceName } = context.target;
  let keys;
  try {
    keys = await context.clients.synapse.integrationRuntimeAuthKeysOperations.list(
      resourceGroup, workspaceName, runtimeName);
  } catch (error) {
    throw asDoctorError(error, 'read the runtime authentication key', runtimeName);
  }

  registerSecret(keys.authKey1);
  registerSecret(keys.authKey2);
  const key = keys.authKey1 ?? keys.authKey2;
  if (!key) {
    throw new DoctorError({
      code: 'auth-key-missing',
      what: `Integration runtime ${runtimeName} returned no authentication key.`,
      fix: 'Regenerate the key in Synapse Studio (Manage > Integration runtimes > ' +
        `${runtimeName} > Regenerate key), then run shir-doctor again.`,
    });
  }
  return key;
}

export function staleNodesStep(): Step<FixContext> {
  return { id: 'stale-nodes', title: 'Stale runtime nodes', dependsOn: ['runtime'],
    run: runStaleNodes };
}

/** Node statuses that mean no machine is serving the node: safe to remove once approved. */
const REMOVABLE_STATUSES = new Set(['Offline', 'NeedRegistration', 'InitializeFailed']);

async function runStaleNodes(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const { staleNodes, runtimeName } = context.decisions;
  if (staleNodes.length === 0) return { status: 'skipped', reason: 'no stale node to remove' };

  const runtime = await readRuntimeStatus(context.clients, context.target, runtimeName);
  const removed: string[] = [];
  const kept: string[] = [];
  for (const nodeName of staleNodes) {
    const node = findNode(runtime, nodeName);
    if (!node) continue;
    if (!REMOVABLE_STATUSES.has(node.status)) {
      // A machine is serving this node again: removing it would cut a live node off.
      kept.push(`${node.nodeName} (${node.status})`);
      continue;
    }
    await removeNode(context, io, node.nodeName);
    removed.push(node.nodeName);
  }
  return { status: 'succeeded', summary: staleSummary(staleNodes, removed, kept) };
}

function staleSummary(planned: string[], removed: string[], kept: string[]): string {
  const parts: string[] = [];
  if (removed.length > 0) parts.push(`Removed stale node(s) ${removed.join(', ')}`);
  if (kept.length > 0) parts.push(`kept live node(s) ${kept.join(', ')}`);
  if (parts.length === 0) return `Stale node(s) ${planned.join(', ')} already gone`;
  return parts.join('; ');
}

async function removeNode(context: FixContext, io: StepIO, nodeName: string): Promise<void> {
  const { resourceGroup, workspaceName } = context.target;
  const { runtimeName } = context.decisions;
  const intent = { action: 'delete' as const, kind: 'runtime-node' as const,
    name: `${runtimeName}/${nodeName}`,
    resourceId: `${runtimeId(context, runtimeName)}/nodes/${nodeName}` };
  io.progress(`removing Offline node ${nodeName}`);
  await journaled(io.journal, intent, 'remove the stale node', () =>
    context.clients.synapse.integrationRuntimeNodes.delete(resourceGroup, workspaceName,
      runtimeName, nodeName),
  );
}

// ---- auto-update and upgrade (F12) -----------------------------------------------------------

/** Nodes whose version is expired or behind the runtime's `latestVersion`. */
export function nodesBehind(runtime: RuntimeView): NodeView[] {
  const latest = runtime.latestVersion;
  return runtime.nodes.filter((node) =>
    /expired/i.test(node.versionStatus ?? '') ||
    (latest !== undefined && node.version !== undefined &&
      compareVersions(node.version, latest) < 0));
}

function isAutoUpdateOff(runtime: RuntimeView): boolean {
  return runtime.autoUpdate?.toLowerCase() === 'off';
}

/** What an out-of-date runtime needs (F12); undefined when auto-update is on and nodes current. */
export function runtimeUpdateOf(
  runtime: RuntimeView | undefined,
): RuntimeUpdateDecision | undefined {
  if (!runtime || runtime.type !== 'SelfHosted') return undefined;
  const behind = nodesBehind(runtime);
  const enableAutoUpdate = isAutoUpdateOff(runtime);
  if (behind.length === 0 && !enableAutoUpdate) return undefined;
  return { enableAutoUpdate, upgradeNodes: behind.map((node) => node.nodeName),
    latestVersion: runtime.latestVersion };
}

export function runtimeUpdateStep(): Step<FixContext> {
  return { id: 'runtime-update', title: 'Runtime auto-update and version',
    dependsOn: ['online'], run: runRuntimeUpdate };
}

async function runRuntimeUpdate(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const wanted = context.decisions.runtimeUpdate;
  if (!wanted) return { status: 'skipped', reason: 'the plan lists no runtime update' };

  const { runtimeName } = context.decisions;
  const runtime = await readRuntimeStatus(context.clients, context.target, runtimeName);
  if (!runtime) throw runtimeGone(runtimeName);
  const done: string[] = [];
  if (wanted.enableAutoUpdate && isAutoUpdateOff(runtime)) {
    await enableAutoUpdate(context, io);
    done.push(`turned auto-update on for ${runtimeName}`);
  }
  const behind = wanted.upgradeNodes.length > 0 ? nodesBehind(runtime) : [];
  const offline = behind.filter((node) => node.status !== 'Online');
  if (behind.length > offline.length) done.push(await upgradeNodes(context, io, runtime));
  const note = offline.length > 0
    ? `not upgraded (not Online): ${offline.map(describeVersion).join(', ')}` : undefined;
  if (done.length === 0) {
    return { status: 'skipped', reason: note ?? `${runtimeName} already has auto-update on ` +
      'and current nodes' };
  }
  return { status: 'succeeded', summary: capitalise([...done, ...(note ? [note] : [])]
    .join('; ')) };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function runtimeGone(runtimeName: string): DoctorError {
  return new DoctorError({
    code: 'runtime-not-found',
    what: `Integration runtime ${runtimeName} is gone: it cannot be updated.`,
    fix: 'Run shir-doctor plan to see what a new fix would do.',
    exitCode: ExitCode.blocked,
  });
}

async function enableAutoUpdate(context: FixContext, io: StepIO): Promise<void> {
  const { resourceGroup, workspaceName } = context.target;
  const { runtimeName } = context.decisions;
  const intent = { action: 'update' as const, kind: 'integration-runtime' as const,
    name: runtimeName, resourceId: runtimeId(context, runtimeName) };
  io.progress(`turning auto-update on for ${runtimeName}`);
  await journaled(io.journal, intent, 'turn auto-update on', () =>
    context.clients.synapse.integrationRuntimes.update(resourceGroup, workspaceName,
      runtimeName, { autoUpdate: 'On' }),
  );
}

/**
 * Asks the service to upgrade the runtime's Online nodes (there is at least one behind), then
 * waits for them to catch up.
 */
async function upgradeNodes(
  context: FixContext,
  io: StepIO,
  runtime: RuntimeView,
): Promise<string> {
  const online = nodesBehind(runtime).filter((node) => node.status === 'Online');
  const latest = runtime.latestVersion ?? 'the latest version';
  const { resourceGroup, workspaceName } = context.target;
  const intent = { action: 'update' as const, kind: 'integration-runtime' as const,
    name: runtime.name, resourceId: `${runtimeId(context, runtime.name)}/upgrade` };
  io.progress(`upgrading ${online.map(describeVersion).join(', ')} to ${latest}`);
  await journaled(io.journal, intent, 'upgrade the runtime nodes', () =>
    context.clients.synapse.integrationRuntimes.upgrade(resourceGroup, workspaceName,
      runtime.name),
  );
  const lagging = await waitForUpgrade(context, io, online.map((node) => node.nodeName));
  const names = online.map((node) => node.nodeName).join(', ');
  if (lagging.length === 0) return `upgraded node(s) ${names} to ${latest}`;
  return `upgrade to ${latest} requested; still at the old version: ` +
    `${lagging.map(describeVersion).join(', ')} (the service finishes it on its own)`;
}

function describeVersion(node: NodeView): string {
  return `${node.nodeName} (${node.version ?? 'version unknown'})`;
}

/** Polls until the named nodes are Online and current, or the online deadline passes. */
async function waitForUpgrade(
  context: FixContext,
  io: StepIO,
  nodeNames: string[],
): Promise<NodeView[]> {
  const { onlineDeadlineMs, pollIntervalMs } = tuningOf(context);
  const deadline = Date.now() + onlineDeadlineMs;
  for (;;) {
    const runtime = await readRuntimeStatus(context.clients, context.target,
      context.decisions.runtimeName);
    const behind = new Set(runtime ? nodesBehind(runtime).map((node) => node.nodeName) : []);
    const lagging = nodeNames
      .map((name) => findNode(runtime, name) ?? { nodeName: name, status: 'Unknown',
        capabilities: {} })
      .filter((node) => node.status !== 'Online' || behind.has(node.nodeName));
    if (lagging.length === 0 || Date.now() >= deadline) return lagging;
    io.progress(`waiting for ${lagging.map(describeVersion).join(', ')} to finish upgrading`);
    await sleep(pollIntervalMs, io.signal);
  }
}
