/**
 * Detect: read the workspace and everything that decides the repair, change nothing.
 *
 * Policy:
 * - DEP-locked means `managedVirtualNetwork == "default"` and
 *   `managedVirtualNetworkSettings.preventDataExfiltration == true`, exactly. Anything else is
 *   reported as "not DEP-locked, the block lies elsewhere" and detection stops there.
 * - The dev endpoint is read only for a DEP-locked workspace; when it cannot be reached and
 *   public network access is disabled, detection fails before any change with advice about
 *   private endpoints and DNS (F08).
 * - Linked services and pipelines are kept as the raw bodies the service returned (masked
 *   secrets found there), so the plan and the backups work on wire facts.
 */
import type { Workspace } from '@azure/arm-synapse';
import { toDoctorError } from '../azure/errors.js';
import type { AzureClients } from '../azure/types.js';
import { DoctorError, ExitCode } from '../engine/errors.js';
import type { Finding, Target } from '../engine/types.js';
import {
  classifyLinkedService,
  combineClassifications,
  DEFAULT_RUNTIME_NAME,
  hostOf,
  isPrivateLinkHost,
  linkedServiceTenant,
  linkedServiceUrl,
  webActivitiesOf,
  type RuntimeContext,
} from './classify.js';
import type {
  Inventory,
  LinkedServiceView,
  NodeView,
  PipelineView,
  RuntimeView,
  VmView,
  WorkspacePosture,
} from './context.js';
import {
  findMaskedSecrets,
  getAt,
  propertiesOf,
  readDefinition,
  type JsonObject,
  type RawDefinition,
} from './definitions.js';
import { listVms } from './host.js';
import { diagnoseNode, MAX_NODES, readRuntimeStatus } from './runtime.js';

/** Definitions read at once from the dev endpoint: fast, yet gentle on its throttling. */
const READ_CONCURRENCY = 4;

export interface DetectResult {
  inventory: Inventory;
  findings: Finding[];
}

export interface DetectOptions {
  /** The runtime this session installs or repairs (default `shir-doctor-ir`). */
  runtimeName?: string;
}

/** Reads the workspace, its runtimes, linked services, pipelines and VMs. */
export async function detect(
  clients: AzureClients,
  target: Target,
  options: DetectOptions = {},
): Promise<DetectResult> {
  const workspace = await readWorkspace(clients, target);
  const findings = postureFindings(workspace);
  if (!workspace.isDepLocked) return { inventory: emptyInventory(workspace), findings };

  // Independent reads run together; the dev endpoint goes first in the list so that an
  // unreachable one (F08) is what the admin hears about.
  const [definitions, runtimes, vms] = await inOrder([
    readDefinitions(clients, workspace),
    readRuntimes(clients, target),
    listVms(clients, target),
  ] as const);
  const context: RuntimeContext = {
    runtimes,
    ourRuntimeName: options.runtimeName ?? DEFAULT_RUNTIME_NAME,
    tenants: { home: workspace.tenantId, allowed: workspace.allowedAadTenantIdsForLinking },
  };
  const inventory: Inventory = {
    workspace,
    runtimes,
    linkedServices: definitions.linkedServices.map((raw) => toLinkedServiceView(raw, context)),
    pipelines: definitions.pipelines.map((raw) => toPipelineView(raw, context)),
    vms,
  };

  findings.push(...inventoryFindings(inventory));
  return { inventory, findings: settleDepLock(findings, inventory) };
}

/** The lock stays (it is permanent), but once nothing is blocked by it, it is no problem. */
function settleDepLock(findings: Finding[], inventory: Inventory): Finding[] {
  const connections = [...inventory.linkedServices, ...inventory.pipelines];
  const isBlocking = connections.some((item) => item.classification === 'external-api');
  if (isBlocking) return findings;

  return findings.map((finding) => finding.id !== 'workspace.dep-locked' ? finding : {
    ...finding,
    severity: 'info',
    title: `Workspace ${inventory.workspace.name} is DEP-locked; no connection is blocked by it`,
  });
}

/** Awaits every read; when some fail, throws the first failure in list order. */
async function inOrder<T extends readonly unknown[]>(
  reads: { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  const settled = await Promise.allSettled(reads);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as
    unknown as T;
}

// ---- workspace -------------------------------------------------------------------------------

async function readWorkspace(clients: AzureClients, target: Target): Promise<WorkspacePosture> {
  try {
    const workspace = await clients.synapse.workspaces.get(
      target.resourceGroup,
      target.workspaceName,
    );
    return toPosture(workspace, target);
  } catch (error) {
    throw toDoctorError(error, { operation: 'read the workspace',
      resource: target.workspaceName });
  }
}

/** The posture detect and verify reason about; DEP per AZURE-WIRE.md, nothing looser. */
export function toPosture(workspace: Workspace, target: Target): WorkspacePosture {
  const settings = workspace.managedVirtualNetworkSettings;
  const isDepLocked =
    workspace.managedVirtualNetwork === 'default' && settings?.preventDataExfiltration === true;
  return {
    name: workspace.name ?? target.workspaceName,
    id: workspace.id ?? '',
    location: workspace.location,
    managedVirtualNetwork: workspace.managedVirtualNetwork,
    preventDataExfiltration: settings?.preventDataExfiltration,
    allowedAadTenantIdsForLinking: settings?.allowedAadTenantIdsForLinking ?? [],
    publicNetworkAccess: workspace.publicNetworkAccess,
    devEndpoint: workspace.connectivityEndpoints?.dev,
    isDepLocked,
    tenantId: workspace.identity?.tenantId,
  };
}

function emptyInventory(workspace: WorkspacePosture): Inventory {
  return { workspace, runtimes: [], linkedServices: [], pipelines: [], vms: [] };
}

function quoted(value: unknown): string {
  return value === undefined ? '(missing)' : JSON.stringify(value);
}

/** The findings about the workspace itself (F03, F04). */
export function postureFindings(workspace: WorkspacePosture): Finding[] {
  const evidence = [
    `managedVirtualNetwork = ${quoted(workspace.managedVirtualNetwork)}`,
    `managedVirtualNetworkSettings.preventDataExfiltration = ` +
      quoted(workspace.preventDataExfiltration),
  ];
  if (!workspace.isDepLocked) return [notDepLocked(workspace, evidence)];

  const findings: Finding[] = [{
    id: 'workspace.dep-locked',
    severity: 'problem',
    title: `Workspace ${workspace.name} is DEP-locked: pipelines cannot call internet APIs ` +
      'from the managed runtime',
    evidence: [...evidence, 'both settings are permanent; the remedy is a self-hosted ' +
      'integration runtime on a VM with internet egress'],
    subject: workspace.id,
  }];
  if (workspace.allowedAadTenantIdsForLinking.length > 0) findings.push(tenantFinding(workspace));
  return findings;
}

function notDepLocked(workspace: WorkspacePosture, evidence: string[]): Finding {
  return {
    id: 'workspace.not-dep-locked',
    severity: 'info',
    title: `Workspace ${workspace.name} is not DEP-locked, so the block lies elsewhere; ` +
      'shir-doctor changes nothing here',
    evidence: [...evidence, 'check firewalls, NSGs or the API\'s own allow list instead'],
    subject: workspace.id,
  };
}

function tenantFinding(workspace: WorkspacePosture): Finding {
  const tenants = workspace.allowedAadTenantIdsForLinking.join(', ');
  return {
    id: 'workspace.tenant-linking-limited',
    severity: 'info',
    title: 'Linking is limited to the allowed tenants, a setting fixed with the managed ' +
      'virtual network; resources elsewhere are reached through the self-hosted runtime',
    evidence: [`allowedAadTenantIdsForLinking = [${tenants}]`,
      'the self-hosted runtime route does not depend on this list'],
    subject: workspace.id,
  };
}

// ---- runtimes --------------------------------------------------------------------------------

async function readRuntimes(clients: AzureClients, target: Target): Promise<RuntimeView[]> {
  const views: RuntimeView[] = [];
  try {
    const pages = clients.synapse.integrationRuntimes.listByWorkspace(
      target.resourceGroup,
      target.workspaceName,
    );
    for await (const resource of pages) {
      views.push(await toRuntimeView(clients, target, resource));
    }
  } catch (error) {
    throw toDoctorError(error, { operation: 'list integration runtimes',
      resource: target.workspaceName });
  }
  return views;
}

interface RuntimeResourceLike {
  name?: string;
  properties: { type: string; linkedInfo?: unknown; [key: string]: unknown };
}

async function toRuntimeView(
  clients: AzureClients,
  target: Target,
  resource: RuntimeResourceLike,
): Promise<RuntimeView> {
  const name = resource.name ?? '';
  const isShared = resource.properties.linkedInfo !== undefined &&
    resource.properties.linkedInfo !== null;
  if (resource.properties.type !== 'SelfHosted') {
    return { name, type: 'Managed', isShared: false, nodes: [] };
  }

  const status = await readRuntimeStatus(clients, target, name);
  return { nodes: [], ...status, name, type: 'SelfHosted',
    isShared: isShared || !!status?.isShared };
}

// ---- linked services and pipelines -----------------------------------------------------------

interface Definitions {
  linkedServices: RawDefinition[];
  pipelines: RawDefinition[];
}

async function readDefinitions(
  clients: AzureClients,
  workspace: WorkspacePosture,
): Promise<Definitions> {
  if (!workspace.devEndpoint) throw missingDevEndpoint(workspace);

  await probeDevEndpoint(clients, workspace);
  const artifacts = clients.artifacts(workspace.devEndpoint);
  try {
    const linkedServiceNames: string[] = [];
    for await (const item of artifacts.linkedServiceOperations.listLinkedServicesByWorkspace()) {
      if (item.name) linkedServiceNames.push(item.name);
    }
    const pipelineNames: string[] = [];
    for await (const item of artifacts.pipelineOperations.listPipelinesByWorkspace()) {
      if (item.name) pipelineNames.push(item.name);
    }
    return {
      linkedServices: await readAll(linkedServiceNames, (n) =>
        readDefinition(artifacts, 'linked-service', n)),
      pipelines: await readAll(pipelineNames, (n) => readDefinition(artifacts, 'pipeline', n)),
    };
  } catch (error) {
    throw devEndpointError(error, workspace);
  }
}

/**
 * A private workspace's dev endpoint is often not reachable from here at all (F08): one first
 * request without retries, so a refused or unresolvable endpoint fails at once instead of after
 * the SDK's retries. Any other failure is left to the retried reads that follow.
 */
async function probeDevEndpoint(clients: AzureClients, workspace: WorkspacePosture)
  : Promise<void> {
  if (workspace.publicNetworkAccess !== 'Disabled' || !workspace.devEndpoint) return;
  const probe = clients.artifacts(workspace.devEndpoint, { maxRetries: 0 });
  try {
    await probe.linkedServiceOperations.listLinkedServicesByWorkspace().byPage().next();
  } catch (error) {
    const mapped = devEndpointError(error, workspace);
    if (mapped.info.code === 'dev-endpoint-unreachable') throw mapped;
  }
}

/** Reads one definition per name, a few at a time, keeping the order of `names`. */
async function readAll<T>(names: string[], read: (name: string) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const index = next;
      next += 1;
      results[index] = await read(names[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, names.length) }, worker));
  return results;
}

function missingDevEndpoint(workspace: WorkspacePosture): DoctorError {
  return new DoctorError({
    code: 'dev-endpoint-missing',
    what: `Workspace ${workspace.name} reports no dev endpoint (connectivityEndpoints.dev).`,
    fix: 'Check that the workspace finished provisioning, then run shir-doctor again.',
    exitCode: ExitCode.blocked,
  });
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'REQUEST_SEND_ERROR',
]);

/** True for failures that never reached the service (DNS, TCP, TLS). */
export function isNetworkFailure(error: unknown): boolean {
  const record = error as { code?: unknown; statusCode?: unknown; cause?: { code?: unknown } };
  if (typeof record?.statusCode === 'number') return false;
  const code = typeof record?.code === 'string' ? record.code : record?.cause?.code;
  return typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('ERR_TLS') ||
    code.includes('CERT'));
}

function devEndpointError(error: unknown, workspace: WorkspacePosture): DoctorError {
  const isPrivate = workspace.publicNetworkAccess === 'Disabled';
  const status = (error as { statusCode?: unknown })?.statusCode;
  if (isPrivate && (isNetworkFailure(error) || status === 403)) {
    return new DoctorError({
      code: 'dev-endpoint-unreachable',
      what: `The workspace dev endpoint ${workspace.devEndpoint} cannot be reached from here; ` +
        'nothing was changed.',
      why: 'publicNetworkAccess = "Disabled": the dev endpoint answers only through a private ' +
        `endpoint, and its name must resolve to that private address (${describe(error)}).`,
      fix: 'Run shir-doctor from a network with a private endpoint (sub-resource "Dev") to the ' +
        'workspace and private DNS for privatelink.dev.azuresynapse.net, or connect through ' +
        'such a network (VPN, jump host).',
      exitCode: ExitCode.blocked,
    });
  }
  return toDoctorError(error, { operation: 'read the workspace dev endpoint',
    resource: workspace.devEndpoint });
}

function describe(error: unknown): string {
  const record = error as { code?: unknown; message?: unknown };
  return [record?.code, record?.message].filter((part) => typeof part === 'string').join(': ');
}

function toLinkedServiceView(raw: RawDefinition, context: RuntimeContext): LinkedServiceView {
  const properties = propertiesOf(raw.body);
  const connectVia = getAt(properties, '/connectVia/referenceName');
  return {
    name: raw.name,
    type: typeof properties.type === 'string' ? properties.type : 'Unknown',
    connectVia: typeof connectVia === 'string' ? connectVia : undefined,
    url: linkedServiceUrl(properties),
    etag: raw.etag,
    rawBody: raw.text,
    maskedSecrets: findMaskedSecrets(properties),
    classification: classifyLinkedService(raw.body, context).classification,
  };
}

function toPipelineView(raw: RawDefinition, context: RuntimeContext): PipelineView {
  const webActivities = webActivitiesOf(propertiesOf(raw.body), context);
  return {
    name: raw.name,
    etag: raw.etag,
    rawBody: raw.text,
    webActivities,
    classification: combineClassifications(
      webActivities.map((activity) => activity.classification ?? 'internal'),
    ),
  };
}

// ---- findings --------------------------------------------------------------------------------

function inventoryFindings(inventory: Inventory): Finding[] {
  return [
    ...inventory.runtimes.flatMap(runtimeFindings),
    ...inventory.linkedServices.map(findingForLinkedService),
    ...inventory.pipelines.filter((p) => p.webActivities.length > 0).map(pipelineFinding),
    ...inventory.vms.filter((vm) => vm.hasEgress === false).map(noEgressFinding),
  ];
}

function runtimeFindings(runtime: RuntimeView): Finding[] {
  if (runtime.type !== 'SelfHosted') return [];
  const findings: Finding[] = [];
  if (runtime.isShared) findings.push(sharedFinding(runtime));
  if (runtime.nodes.length >= MAX_NODES) findings.push(fullFinding(runtime));
  for (const node of runtime.nodes) findings.push(...diagnoseNode(node, runtime));
  if (findings.length === 0) findings.push(runtimeOk(runtime));
  return findings;
}

function sharedFinding(runtime: RuntimeView): Finding {
  return {
    id: 'runtime.shared',
    severity: 'warning',
    title: `${runtime.name} is a shared (linked) runtime; shir-doctor will not reuse it, ` +
      'because Synapse does not support shared self-hosted runtimes',
    evidence: ['typeProperties.linkedInfo is set'],
    subject: runtime.name,
  };
}

function fullFinding(runtime: RuntimeView): Finding {
  return {
    id: 'runtime.max-nodes',
    severity: 'warning',
    title: `${runtime.name} already has ${runtime.nodes.length} nodes, the most a runtime may ` +
      'have; shir-doctor will not add another',
    evidence: runtime.nodes.map(nodeEvidence),
    subject: runtime.name,
  };
}

function runtimeOk(runtime: RuntimeView): Finding {
  return {
    id: 'runtime.healthy',
    severity: 'ok',
    title: `${runtime.name} is ${runtime.state ?? 'in an unknown state'}`,
    evidence: runtime.nodes.map(nodeEvidence),
    subject: runtime.name,
  };
}

function nodeEvidence(node: NodeView): string {
  const version = node.version ? `, version ${node.version}` : '';
  return `node ${node.nodeName}: status ${node.status}${version}`;
}

const CLASSIFICATION_TITLES: Record<string, string> = {
  'external-api': 'calls an internet API from the managed runtime: needs the self-hosted runtime',
  'azure-private-link': 'is an Azure service with Private Link: a managed private endpoint is ' +
    'the better remedy; left alone',
  'on-shir': 'already runs on a self-hosted runtime',
  internal: 'has no external endpoint this tool can see; left alone',
};

function findingForLinkedService(service: LinkedServiceView): Finding {
  const tenant = linkedServiceTenant(propertiesOf(JSON.parse(service.rawBody) as JsonObject));
  const host = hostOf(service.url);
  const isCrossTenant = service.classification === 'external-api' && tenant !== undefined &&
    host !== undefined && isPrivateLinkHost(host);
  return isCrossTenant ? crossTenantFinding(service, tenant) : linkedServiceFinding(service);
}

function crossTenantFinding(service: LinkedServiceView, tenant: string): Finding {
  return {
    id: 'linked-service.cross-tenant',
    severity: 'problem',
    title: `Linked service ${service.name} reaches tenant ${tenant}, which DEP does not let ` +
      'the workspace link to; that list cannot be changed, so the self-hosted runtime is ' +
      'the route to it',
    evidence: [`type = ${service.type}`, `url = ${service.url ?? '(none)'}`,
      `typeProperties.tenant = ${tenant}`,
      'allowedAadTenantIdsForLinking does not list it'],
    subject: service.name,
  };
}

function linkedServiceFinding(service: LinkedServiceView): Finding {
  const secrets = service.maskedSecrets.map((pointer) => `masked SecureString at ${pointer}`);
  return {
    id: `linked-service.${service.classification}`,
    severity: service.classification === 'external-api' ? 'problem' : 'info',
    title: `Linked service ${service.name} ${CLASSIFICATION_TITLES[service.classification]}`,
    evidence: [
      `type = ${service.type}`,
      `connectVia = ${service.connectVia ?? 'AutoResolveIntegrationRuntime (default)'}`,
      ...(service.url ? [`url = ${service.url}`] : []),
      ...secrets,
    ],
    subject: service.name,
  };
}

function pipelineFinding(pipeline: PipelineView): Finding {
  return {
    id: `pipeline.${pipeline.classification}`,
    severity: pipeline.classification === 'external-api' ? 'problem' : 'info',
    title: `Pipeline ${pipeline.name} ${CLASSIFICATION_TITLES[pipeline.classification]}`,
    evidence: pipeline.webActivities.map((activity) =>
      `Web activity ${activity.name}: url = ${activity.url ?? '(expression)'}, connectVia = ` +
      `${activity.connectVia ?? '(managed runtime)'}`),
    subject: pipeline.name,
  };
}

function noEgressFinding(vm: VmView): Finding {
  return {
    id: 'vm.no-egress',
    severity: 'warning',
    title: `VM ${vm.name} has no outbound internet access (no NAT gateway, no public IP, ` +
      'no default outbound access)',
    evidence: [`subnet ${vm.subnetId ?? '(unknown)'}`],
    subject: vm.name,
  };
}
