/**
 * Microsoft.Synapse on the ARM side: workspaces (read, and writes that cannot touch the permanent
 * DEP settings) and integration runtimes with their status, auth keys and nodes.
 *
 * Runtime state rules: a self-hosted runtime with no node needs registration; an `Initializing`
 * node turns `Online` at its `onlineAt` time; a node whose VM is gone is `Offline`; a node with a
 * capability `False` is `Limited`; the runtime is `Online` when a node is Online, `Limited` when
 * the best node is Limited, `Starting` while a node initializes, `Offline` otherwise. At most
 * 4 nodes. Auth keys are assembled from stored parts only when asked for, so no key-shaped
 * string is ever persisted.
 */
import type { ArmResources } from './arm.js';
import {
  checkIfMatch, HttpFail, type Ctx, type Handler, type Reply, idKey, json, match,
} from './http.js';
import type { ArmResource } from './scenario.js';
import {
  type KeyParts, type NodeState, type RuntimeState, type World, newEtag, newKeyParts, newRuntime,
} from './world.js';

const WS = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Synapse/workspaces/:ws';
const IR = `${WS}/integrationRuntimes/:ir`;

/** The most nodes one self-hosted runtime accepts. */
export const MAX_NODES = 4;

const CAPABILITIES_OK = {
  serviceBusConnected: 'True',
  httpsPortEnabled: 'True',
  credentialInSync: 'True',
  connectedToResourceManager: 'True',
  nodeEnabled: 'True',
};

/** Everything the Synapse module needs from the server. */
export interface SynapseDeps {
  world: World;
  arm: ArmResources;
}

/** Registers the Synapse kinds and returns the handler for runtime actions. */
export function synapse(deps: SynapseDeps): Handler {
  const { world, arm } = deps;
  arm.register({
    type: 'Microsoft.Synapse/workspaces',
    tracked: true,
    listBySubscription: true,
    put: 'async',
    delete: 'async',
    durationMs: 3000,
    accept: (_ctx, next, existing) => acceptWorkspace(next, existing),
    present: (ctx, copy) => presentWorkspace(ctx, copy),
  });
  arm.register({
    type: 'Microsoft.Synapse/workspaces/integrationruntimes',
    tracked: false,
    put: 'sync',
    delete: 'sync',
    accept: (ctx, next, existing) => acceptRuntime(deps, ctx, next, existing),
    present: (_ctx, copy) => {
      delete copy.properties?.provisioningState;
      return copy;
    },
    beforeDelete: (_ctx, stored) => beforeDeleteRuntime(world, stored),
  });
  return (ctx) => runtimeAction(deps, ctx);
}

/** The dev endpoint URL of a workspace on this emulator. */
export function devEndpoint(base: string, workspaceName: string): string {
  return `${base}/dev/${workspaceName}`;
}

/** Whether a workspace is DEP-locked. */
export function isDepLocked(ws: ArmResource | undefined): boolean {
  const p = ws?.properties ?? {};
  return p.managedVirtualNetwork === 'default' &&
    p.managedVirtualNetworkSettings?.preventDataExfiltration === true;
}

/** The assembled auth key for one key half of a runtime. */
export function assembleKey(world: World, runtimeId: string, parts: KeyParts): string {
  const wsId = runtimeId.split('/').slice(0, -2).join('/');
  const ws = world.get(wsId);
  const region = (ws?.location ?? 'westeurope').replace(/\s+/g, '').toLowerCase();
  const name = ws?.name ?? 'workspace';
  return ['IR', parts.id, name, `ServiceEndpoint=${name}.${region}.datafactory.azure.net`,
    parts.secret].join('@');
}

/** Finds the runtime whose current key1 or key2 equals `key`. */
export function runtimeForKey(world: World, key: string): string | undefined {
  for (const [id, rt] of Object.entries(world.state.runtimes)) {
    if (!world.get(id)) continue;
    const keys = [rt.keys.authKey1, rt.keys.authKey2].map((k) => assembleKey(world, id, k));
    if (keys.includes(key)) return id;
  }
  return undefined;
}

/** Brings node statuses up to date (Initializing → Online, VM gone → Offline). */
export function refreshNodes(world: World, rt: RuntimeState): void {
  for (const node of rt.nodes) {
    if (node.status === 'Initializing' && node.onlineAt !== undefined &&
      node.onlineAt <= Date.now()) {
      node.status = 'Online';
    }
    if (node.vmId && !world.get(node.vmId) && node.status !== 'Offline') {
      node.status = 'Offline';
    }
  }
}

function acceptWorkspace(next: ArmResource, existing: ArmResource | undefined): ArmResource {
  if (!existing) return next;
  const before = existing.properties ?? {};
  const after = next.properties ?? {};
  const dep = (p: Record<string, any>) => p.managedVirtualNetworkSettings?.preventDataExfiltration;
  const vnet = (p: Record<string, any>) => p.managedVirtualNetwork ?? '';
  if ((after.managedVirtualNetwork !== undefined && vnet(after) !== vnet(before)) ||
    (dep(after) !== undefined && dep(after) !== dep(before))) {
    throw new HttpFail(400, 'InvalidWorkspaceUpdate',
      'Managed virtual network and data exfiltration protection settings cannot be changed ' +
      'after the workspace is created.');
  }
  next.properties = { ...before, ...after };
  return next;
}

function presentWorkspace(ctx: Ctx, copy: ArmResource): ArmResource {
  const props = (copy.properties ??= {});
  props.connectivityEndpoints = {
    ...props.connectivityEndpoints,
    dev: devEndpoint(ctx.base, copy.name),
    sql: `${copy.name}.sql.azuresynapse.net`,
    'sqlOnDemand': `${copy.name}-ondemand.sql.azuresynapse.net`,
    web: `https://web.azuresynapse.net?workspace=${encodeURIComponent(copy.id)}`,
  };
  return copy;
}

function acceptRuntime(deps: SynapseDeps, ctx: Ctx, next: ArmResource,
  existing: ArmResource | undefined): ArmResource {
  const type = next.properties?.type;
  if (type !== 'SelfHosted' && type !== 'Managed') {
    throw new HttpFail(400, 'BadRequest',
      `Integration runtime type '${type}' is invalid. Use 'SelfHosted' or 'Managed'.`);
  }
  if (existing && existing.properties?.type !== type) {
    throw new HttpFail(400, 'BadRequest', 'The type of an integration runtime cannot be changed.');
  }
  if (type === 'SelfHosted' && next.properties?.typeProperties?.linkedInfo) {
    throw new HttpFail(400, 'BadRequest',
      'Shared self-hosted integration runtimes are not supported in Synapse workspaces.');
  }
  checkIfMatch(ctx, existing === undefined ? undefined : String(existing.etag),
    'The specified If-Match does not match the current ETag of the integration runtime.');

  next.etag = newEtag().replace(/"/g, '');
  delete next.properties?.provisioningState;
  if (type === 'SelfHosted' && !deps.world.state.runtimes[idKey(next.id)]) {
    deps.world.state.runtimes[idKey(next.id)] = newRuntime({});
  }
  return next;
}


function beforeDeleteRuntime(world: World, stored: ArmResource): void {
  const dev = world.dev(stored.id.split('/')[8]);
  const needle = `"referencename":"${stored.name.toLowerCase()}"`;
  const users = [...Object.values(dev.linkedServices), ...Object.values(dev.pipelines)]
    .filter((a) => JSON.stringify(a.properties).toLowerCase().includes(needle));
  if (users.length > 0) {
    throw new HttpFail(400, 'IntegrationRuntimeInUse',
      `Integration runtime '${stored.name}' is referenced by ` +
      `${users.map((u) => `'${u.name}'`).join(', ')} and cannot be deleted.`);
  }
  delete world.state.runtimes[idKey(stored.id)];
}

function runtimeAction(deps: SynapseDeps, ctx: Ctx): Reply | undefined {
  if (match(IR, ctx.path) && ctx.method === 'PATCH') return updateRuntime(deps, ctx);
  const node = match(`${IR}/nodes/:node`, ctx.path);
  if (node) return nodeAction(deps, ctx, node.node);

  const action = match(`${IR}/:action`, ctx.path);
  if (!action || ctx.method !== 'POST') return undefined;

  const runtime = loadRuntime(deps, ctx.path.split('/').slice(0, -1).join('/'));
  switch (action.action.toLowerCase()) {
    case 'getstatus':
      return json(statusBody(deps.world, runtime));
    case 'listauthkeys':
      return json(authKeys(deps.world, runtime, ['authKey1', 'authKey2']));
    case 'regenerateauthkey':
      return regenerate(deps, ctx, runtime);
    case 'upgrade':
      return upgrade(deps, runtime);
    default:
      return undefined;
  }
}

function loadRuntime(deps: SynapseDeps, id: string): ArmResource {
  const runtime = deps.world.get(id);
  if (!runtime) deps.arm.missing(id);
  return runtime;
}

function selfHosted(deps: SynapseDeps, runtime: ArmResource, action: string): RuntimeState {
  if (runtime.properties?.type !== 'SelfHosted') {
    throw new HttpFail(400, 'BadRequest',
      `${action} is only supported for self-hosted integration runtimes.`);
  }
  return deps.world.runtime(runtime.id);
}

function authKeys(world: World, runtime: ArmResource, names: Array<'authKey1' | 'authKey2'>)
  : Record<string, string> {
  if (runtime.properties?.type !== 'SelfHosted') {
    throw new HttpFail(400, 'BadRequest',
      'Auth keys are only available for self-hosted integration runtimes.');
  }
  const rt = world.runtime(runtime.id);
  return Object.fromEntries(names.map((n) => [n, assembleKey(world, runtime.id, rt.keys[n])]));
}

function regenerate(deps: SynapseDeps, ctx: Ctx, runtime: ArmResource): Reply {
  const keyName = (ctx.body as { keyName?: string } | undefined)?.keyName;
  if (keyName !== 'authKey1' && keyName !== 'authKey2') {
    throw new HttpFail(400, 'BadRequest', "keyName must be 'authKey1' or 'authKey2'.");
  }
  const rt = selfHosted(deps, runtime, 'regenerateAuthKey');
  rt.keys[keyName] = newKeyParts();
  deps.world.save();
  return json(authKeys(deps.world, runtime, [keyName]));
}

/** PATCH: `autoUpdate` and `updateDelayOffset` of a self-hosted runtime. */
function updateRuntime(deps: SynapseDeps, ctx: Ctx): Reply {
  const runtime = loadRuntime(deps, ctx.path);
  const rt = selfHosted(deps, runtime, 'Update');
  const body = (ctx.body ?? {}) as { autoUpdate?: string };
  if (body.autoUpdate !== undefined && body.autoUpdate !== 'On' && body.autoUpdate !== 'Off') {
    throw new HttpFail(400, 'BadRequest', "autoUpdate must be 'On' or 'Off'.");
  }
  if (body.autoUpdate) rt.autoUpdate = body.autoUpdate;
  deps.world.save();
  return json(deps.arm.present(ctx, runtime));
}

/** POST upgrade: online nodes move to the latest version. */
function upgrade(deps: SynapseDeps, runtime: ArmResource): Reply {
  const rt = selfHosted(deps, runtime, 'Upgrade');
  refreshNodes(deps.world, rt);
  if (!rt.nodes.some((n) => n.status === 'Online')) {
    throw new HttpFail(400, 'BadRequest',
      `Integration runtime '${runtime.name}' has no online node to upgrade.`);
  }
  for (const node of rt.nodes) if (node.status === 'Online') node.version = rt.latestVersion;
  rt.version = rt.latestVersion;
  rt.versionStatus = 'UpToDate';
  deps.world.save();
  return { status: 200 };
}

function nodeAction(deps: SynapseDeps, ctx: Ctx, nodeName: string): Reply | undefined {
  const runtimeId = ctx.path.split('/').slice(0, -2).join('/');
  const rt = selfHosted(deps, loadRuntime(deps, runtimeId), 'Node operations');
  refreshNodes(deps.world, rt);
  const index = rt.nodes.findIndex((n) => n.nodeName.toLowerCase() === nodeName.toLowerCase());
  if (ctx.method === 'GET') {
    if (index < 0) throw nodeMissing(nodeName);
    return json(nodeBody(rt.nodes[index], rt));
  }
  if (ctx.method !== 'DELETE') return undefined;
  if (index < 0) return { status: 204 };

  rt.nodes.splice(index, 1);
  deps.world.save();
  return { status: 200 };
}

function nodeMissing(nodeName: string): HttpFail {
  return new HttpFail(404, 'NotFound', `Integration runtime node '${nodeName}' was not found.`);
}

function statusBody(world: World, runtime: ArmResource): Record<string, unknown> {
  if (runtime.properties?.type !== 'SelfHosted') {
    return { name: runtime.name, properties: { type: 'Managed', state: 'Started',
      typeProperties: { createTime: '2024-01-01T00:00:00Z', nodes: [], otherErrors: [] } } };
  }

  const rt = world.runtime(runtime.id);
  refreshNodes(world, rt);
  world.save();
  const nodes = rt.nodes.map((n) => nodeBody(n, rt));
  const best = bestNode(nodes);
  return {
    name: runtime.name,
    properties: {
      state: runtimeState(nodes),
      type: 'SelfHosted',
      typeProperties: {
        autoUpdate: rt.autoUpdate,
        taskQueueId: idKey(runtime.id).slice(-36).replace(/[^0-9a-f-]/g, '0'),
        version: rt.version,
        nodes,
        updateDelayOffset: 'PT3H',
        localTimeZoneOffset: 'PT0S',
        serviceUrls: [`${runtime.id.split('/')[8]}.frontend.clouddatahub.net`,
          '*.servicebus.windows.net'],
        versionStatus: rt.versionStatus,
        capabilities: best?.capabilities ?? { ...CAPABILITIES_OK, serviceBusConnected: 'False' },
        latestVersion: rt.latestVersion,
        createTime: rt.createTime,
      },
    },
  };
}

type NodeBody = ReturnType<typeof nodeBody>;

function nodeBody(node: NodeState, rt: RuntimeState) {
  const capabilities = { ...CAPABILITIES_OK, ...node.capabilities };
  const degraded = Object.values(capabilities).includes('False');
  const status = node.status === 'Online' && degraded ? 'Limited' : node.status;
  return {
    nodeName: node.nodeName,
    machineName: node.machineName ?? node.nodeName.toUpperCase(),
    hostServiceUri: `https://${(node.machineName ?? node.nodeName).toLowerCase()}:8050/` +
      'HostServiceRemote.svc/',
    status,
    capabilities,
    versionStatus: node.version && node.version !== rt.latestVersion
      ? (rt.versionStatus === 'UpToDate' ? 'UpdateAvailable' : rt.versionStatus ?? 'Expired')
      : 'UpToDate',
    version: node.version ?? rt.version ?? '5.44.8984.1',
    registerTime: node.registerTime,
    lastConnectTime: node.registerTime,
    lastStartTime: node.registerTime,
    lastUpdateResult: 'None',
    isActiveDispatcher: true,
    maxConcurrentJobs: 8,
  };
}

function bestNode(nodes: NodeBody[]): NodeBody | undefined {
  return nodes.find((n) => n.status === 'Online') ?? nodes.find((n) => n.status === 'Limited');
}

function runtimeState(nodes: NodeBody[]): string {
  if (nodes.length === 0) return 'NeedRegistration';
  if (nodes.some((n) => n.status === 'Online')) return 'Online';
  if (nodes.some((n) => n.status === 'Limited')) return 'Limited';
  if (nodes.some((n) => n.status === 'Initializing')) return 'Starting';
  if (nodes.every((n) => n.status === 'NeedRegistration')) return 'NeedRegistration';
  return 'Offline';
}
