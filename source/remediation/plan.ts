/**
 * Plan: from what detect found, decide the cheapest repair and list every change, Terraform
 * style, with the evidence behind it. Pure: no Azure calls.
 *
 * Host policy, cheapest first (with --vm-name, only that VM is considered):
 * 1. reuse a healthy self-hosted runtime (not shared, Online, a node with no False capability
 *    on a VM with egress) — nothing to create;
 * 2. otherwise repair an existing unshared runtime in place on the VM its node runs on (F07,
 *    F14): reinstall or re-register there, adding egress if the VM lacks it;
 * 3. otherwise use our runtime (`shir-doctor-ir`, created when missing; a new name when ours
 *    is full, F15) on an existing Windows VM (`--vm-name`, or one shir-doctor created and
 *    tagged before);
 * 4. otherwise create the network and a VM.
 * A VM that already hosts another runtime's node is never given a second runtime (F06), and a
 * shared runtime is never reused (F05). An Offline node with our node name is removed first,
 * with approval (F14).
 *
 * Rewire policy: only `external-api` linked services and Web activities are rewired, and only
 * their `connectVia` changes. Everything else is kept, with the reason. A workspace already
 * repaired yields a plan without changes.
 */
import { DoctorError, ExitCode } from '../engine/errors.js';
import type { Plan, PlanItem, Target } from '../engine/types.js';
import { TAGS } from '../wire/guest.js';
import { DEFAULT_RUNTIME_NAME, hostOf, isNodeHealthy, isRuntimeHealthy } from './classify.js';
import type {
  Decisions,
  HostDecision,
  Inventory,
  LinkedServiceView,
  NodeView,
  PipelineView,
  RuntimeView,
  VmView,
} from './context.js';
import { networkNames } from './network.js';
import { MAX_NODES, runtimeUpdateOf } from './runtime.js';

/** Name of the VM shir-doctor creates when it must. */
export const DEFAULT_VM_NAME = 'shir-doctor-vm';

const MANAGED_RUNTIME = 'AutoResolveIntegrationRuntime';

export interface PlanOptions {
  /** Runtime name to create or repair (default `shir-doctor-ir`). */
  runtimeName?: string;
  /** Used to name the temporary end-to-end test pipeline. */
  sessionId?: string;
}

export interface PlanResult {
  decisions: Decisions;
  plan: Plan;
}

/** The temporary end-to-end pipeline's name for a session. */
export function testPipelineName(sessionId: string | undefined): string {
  // Session ids start with the date; the tail (time and random part) tells them apart.
  const short = (sessionId ?? 'session').replace(/[^A-Za-z0-9]/g, '').slice(-8).toLowerCase();
  return `shir-doctor-e2e-${short}`;
}

/** Decides the repair and lists its changes. */
export function makePlan(
  inventory: Inventory,
  target: Target,
  options: PlanOptions = {},
): PlanResult {
  const ourName = options.runtimeName ?? DEFAULT_RUNTIME_NAME;
  const rewire = chooseRewires(inventory);
  const hosting = chooseHosting(inventory, target, ourName);
  const needsShir = rewire.linkedServices.length + rewire.pipelines.length > 0 ||
    target.apiUrl !== undefined;
  const decisions: Decisions = {
    ...hosting.decisions,
    runtimeUpdate: needsShir ? hosting.decisions.runtimeUpdate : undefined,
    linkedServicesToRewire: rewire.linkedServices.map((service) => service.name),
    pipelinesToRewire: rewire.pipelines.map((pipeline) => pipeline.name),
    apiUrl: chooseApiUrl(target, rewire, inventory, hosting.decisions.runtimeName),
  };

  const items = [
    ...(needsShir ? hosting.items : hosting.items.filter((item) => item.action === 'keep')),
    ...rewireItems(inventory, decisions.runtimeName, rewire),
  ];
  if (items.some((item) => item.action !== 'keep')) {
    items.push(testPipelineItem(options, decisions));
  }
  return { decisions, plan: { items } };
}

// ---- rewire ----------------------------------------------------------------------------------

interface RewireChoice {
  linkedServices: LinkedServiceView[];
  pipelines: PipelineView[];
}

function chooseRewires(inventory: Inventory): RewireChoice {
  return {
    linkedServices: inventory.linkedServices.filter((s) => s.classification === 'external-api'),
    pipelines: inventory.pipelines.filter((p) => p.classification === 'external-api'),
  };
}

/**
 * The URL the end-to-end test calls: --api-url; else a Web activity's full URL (one that
 * moves to the runtime, or already runs on it), which is a real call the pipelines make; else a
 * moved linked service's base URL, which may not answer 2xx by itself.
 */
function chooseApiUrl(
  target: Target,
  rewire: RewireChoice,
  inventory: Inventory,
  runtimeName: string,
): string | undefined {
  if (target.apiUrl) return target.apiUrl;
  const isOnRuntime = (via?: string): boolean => via?.toLowerCase() === runtimeName.toLowerCase();
  const activities = inventory.pipelines.flatMap((pipeline) => pipeline.webActivities)
    .filter((activity) => hostOf(activity.url));
  const moving = activities.find((activity) => activity.classification === 'external-api');
  const moved = activities.find((activity) => isOnRuntime(activity.connectVia));
  const service = rewire.linkedServices.find((item) => hostOf(item.url));
  return moving?.url ?? moved?.url ?? service?.url;
}

function rewireItems(inventory: Inventory, runtimeName: string, rewire: RewireChoice): PlanItem[] {
  const services = inventory.linkedServices.map((service) =>
    rewire.linkedServices.includes(service)
      ? linkedServiceUpdate(service, runtimeName)
      : keepItem('linked-service', service.name, KEEP_REASONS[service.classification],
        [`classification = ${service.classification}`,
          ...(service.url ? [`url = ${service.url}`] : [])]));
  const pipelines = inventory.pipelines
    .filter((pipeline) => pipeline.webActivities.length > 0)
    .map((pipeline) =>
      rewire.pipelines.includes(pipeline)
        ? pipelineUpdate(pipeline, runtimeName)
        : keepItem('pipeline', pipeline.name, KEEP_REASONS[pipeline.classification],
          [`classification = ${pipeline.classification}`]));
  return [...services, ...pipelines];
}

const KEEP_REASONS: Record<string, string> = {
  'external-api': 'needs the self-hosted runtime',
  'azure-private-link': 'Azure service with Private Link: create a managed private endpoint ' +
    'instead of routing through the self-hosted runtime',
  'on-shir': 'already on a self-hosted runtime',
  internal: 'no external endpoint',
};

function linkedServiceUpdate(service: LinkedServiceView, runtimeName: string): PlanItem {
  return {
    action: 'update',
    kind: 'linked-service',
    name: service.name,
    detail: `connectVia: ${service.connectVia ?? MANAGED_RUNTIME} -> ${runtimeName}`,
    evidence: [
      `url ${service.url ?? '(none)'} is outside the managed network, which DEP blocks`,
      ...service.maskedSecrets.map((pointer) => `SecureString ${pointer} comes back masked: ` +
        'its real value is written back from your secrets, never the mask'),
    ],
  };
}

function pipelineUpdate(pipeline: PipelineView, runtimeName: string): PlanItem {
  const activities = pipeline.webActivities.filter((a) => a.classification === 'external-api');
  return {
    action: 'update',
    kind: 'pipeline',
    name: pipeline.name,
    detail: activities
      .map((a) => `${a.name} connectVia: ${a.connectVia ?? MANAGED_RUNTIME} -> ${runtimeName}`)
      .join('; '),
    evidence: activities.map((a) =>
      `Web activity ${a.name} calls ${a.url} on the managed runtime`),
  };
}

function testPipelineItem(options: PlanOptions, decisions: Decisions): PlanItem {
  return {
    action: 'create',
    kind: 'test-pipeline',
    name: testPipelineName(options.sessionId),
    detail: `one Web activity on ${decisions.runtimeName} calling ` +
      `${decisions.apiUrl ?? 'the API'}; removed after the run`,
    evidence: ['a real pipeline run through the runtime is the proof that the API is reachable'],
  };
}

function keepItem(
  kind: PlanItem['kind'],
  name: string,
  detail: string,
  evidence: string[],
): PlanItem {
  return { action: 'keep', kind, name, detail, evidence };
}

// ---- hosting ---------------------------------------------------------------------------------

interface Hosting {
  decisions: Omit<Decisions, 'linkedServicesToRewire' | 'pipelinesToRewire' | 'apiUrl'>;
  items: PlanItem[];
}

function chooseHosting(inventory: Inventory, target: Target, ourName: string): Hosting {
  const keeps = unusableRuntimeItems(inventory);
  const reusable = findReusableRuntime(inventory, target, ourName);
  if (reusable) return withKeeps(reuseRuntime(inventory, reusable), keeps);
  const repairable = findRepairableRuntime(inventory, target, ourName);
  if (repairable) return withKeeps(repairRuntime(repairable), keeps);

  const runtime = chooseRuntime(inventory, ourName);
  const host = chooseHost(inventory, target, runtime.name);
  const nodeName = host.decision.vmName;
  const stale = staleNodes(runtime.existing, nodeName);
  return {
    decisions: {
      runtimeName: runtime.name,
      isRuntimeNew: runtime.existing === undefined,
      host: host.decision,
      nodeName,
      staleNodes: stale.map((node) => node.nodeName),
      runtimeUpdate: runtimeUpdateOf(runtime.existing),
    },
    items: [
      ...keeps,
      ...runtime.items,
      ...host.items,
      ...stale.map((node) => staleNodeItem(runtime.name, node)),
      ...installItems(runtime.name, nodeName, host.decision.vmName),
      ...upgradeItems(runtime.existing),
    ],
  };
}

function withKeeps(hosting: Hosting, keeps: PlanItem[]): Hosting {
  return { ...hosting, items: [...keeps, ...hosting.items] };
}

/** Keep items explaining why an existing runtime will not be used (F05, F15). */
function unusableRuntimeItems(inventory: Inventory): PlanItem[] {
  return inventory.runtimes
    .filter((runtime) => runtime.type === 'SelfHosted')
    .flatMap((runtime) => {
      if (runtime.isShared) {
        return [keepItem('integration-runtime', runtime.name, 'not reused: a shared (linked) ' +
          'runtime, which Synapse does not support', ['typeProperties.linkedInfo is set'])];
      }
      if (runtime.nodes.length >= MAX_NODES && !findOnlineNodeWithEgress(inventory, runtime)) {
        return [keepItem('integration-runtime', runtime.name, `not extended: already has ` +
          `${runtime.nodes.length} nodes, the most allowed`, runtime.nodes.map(describeNode))];
      }
      return [];
    });
}

function describeNode(node: NodeView): string {
  return `node ${node.nodeName} (${node.machineName ?? 'unknown machine'}): ${node.status}`;
}

function vmOfNode(inventory: Inventory, node: NodeView): VmView | undefined {
  const names = [node.machineName, node.nodeName]
    .filter((name): name is string => typeof name === 'string')
    .map((name) => name.toLowerCase());
  return inventory.vms.find((vm) => names.includes(vm.name.toLowerCase()));
}

interface Repairable {
  runtime: RuntimeView;
  node: NodeView;
  vm: VmView;
}

/**
 * An unshared self-hosted runtime whose (unhealthy) node runs on a Windows VM we can see:
 * repairing it in place is cheaper than building a second runtime (F07, F14). Ours first; with
 * --vm-name, only a runtime with a node on that VM.
 */
function findRepairableRuntime(
  inventory: Inventory,
  target: Target,
  ourName: string,
): Repairable | undefined {
  const candidates = inventory.runtimes
    .filter((runtime) => runtime.type === 'SelfHosted' && !runtime.isShared)
    .sort((a, b) => Number(isNamed(b, ourName)) - Number(isNamed(a, ourName)));
  for (const runtime of candidates) {
    for (const node of runtime.nodes) {
      const vm = vmOfNode(inventory, node);
      if (!vm || !isWindows(vm)) continue;
      if (target.vmName && vm.name.toLowerCase() !== target.vmName.toLowerCase()) continue;
      const isFull = runtime.nodes.length >= MAX_NODES && node.status !== 'Offline';
      if (!isFull) return { runtime, node, vm };
    }
  }
  return undefined;
}

function isWindows(vm: VmView): boolean {
  return vm.osType === undefined || vm.osType.toLowerCase() === 'windows';
}

function repairRuntime({ runtime, node, vm }: Repairable): Hosting {
  const host = reuseVm(vm);
  const stale = node.status === 'Offline' ? [node] : [];
  return {
    decisions: {
      runtimeName: runtime.name,
      isRuntimeNew: false,
      host: host.decision,
      nodeName: node.nodeName,
      staleNodes: stale.map((item) => item.nodeName),
      runtimeUpdate: runtimeUpdateOf(runtime),
    },
    items: [
      keepItem('integration-runtime', runtime.name, 'repaired in place: existing self-hosted ' +
        `runtime, node ${node.nodeName} on ${vm.name}`,
      [`state = ${runtime.state ?? 'unknown'}`, ...runtime.nodes.map(describeNode)]),
      ...host.items,
      ...stale.map((item) => staleNodeItem(runtime.name, item)),
      ...installItems(runtime.name, node.nodeName, vm.name),
      ...upgradeItems(runtime),
    ],
  };
}

function findOnlineNodeWithEgress(
  inventory: Inventory,
  runtime: RuntimeView,
  vmName?: string,
): NodeView | undefined {
  return runtime.nodes.find((node) => {
    if (!isNodeHealthy(node)) return false;
    const vm = vmOfNode(inventory, node);
    if (vmName && vm?.name.toLowerCase() !== vmName.toLowerCase()) return false;
    return vm !== undefined && vm.hasEgress !== false;
  });
}

interface Reusable {
  runtime: RuntimeView;
  node: NodeView;
}

/**
 * A healthy, unshared runtime with an Online node on a VM with egress; ours first. With
 * --vm-name, only a node on that VM counts.
 */
function findReusableRuntime(
  inventory: Inventory,
  target: Target,
  ourName: string,
): Reusable | undefined {
  const candidates = inventory.runtimes
    .filter((runtime) => runtime.type === 'SelfHosted' && !runtime.isShared)
    .filter(isRuntimeHealthy)
    .sort((a, b) => Number(isNamed(b, ourName)) - Number(isNamed(a, ourName)));
  for (const runtime of candidates) {
    const node = findOnlineNodeWithEgress(inventory, runtime, target.vmName);
    if (node) return { runtime, node };
  }
  return undefined;
}

function isNamed(runtime: RuntimeView, name: string): boolean {
  return runtime.name.toLowerCase() === name.toLowerCase();
}

function reuseRuntime(inventory: Inventory, reusable: Reusable): Hosting {
  const { runtime, node } = reusable;
  const vmName = vmOfNode(inventory, node)?.name ?? node.machineName ?? node.nodeName;
  return {
    decisions: {
      runtimeName: runtime.name,
      isRuntimeNew: false,
      host: { mode: 'reuse-runtime', vmName },
      nodeName: node.nodeName,
      staleNodes: [],
      runtimeUpdate: runtimeUpdateOf(runtime),
    },
    items: [
      keepItem('integration-runtime', runtime.name, 'reused: healthy self-hosted runtime',
        [`state = ${runtime.state}`, ...runtime.nodes.map(describeNode)]),
      keepItem('virtual-machine', vmName, 'reused: hosts the Online node and has egress',
        [`node ${node.nodeName} is Online`]),
      ...upgradeItems(runtime),
    ],
  };
}

interface RuntimeChoice {
  name: string;
  existing?: RuntimeView;
  items: PlanItem[];
}

function chooseRuntime(inventory: Inventory, ourName: string): RuntimeChoice {
  const isUsable = (runtime: RuntimeView): boolean =>
    runtime.type === 'SelfHosted' && !runtime.isShared && runtime.nodes.length < MAX_NODES;
  const ours = inventory.runtimes.find((runtime) => isNamed(runtime, ourName));
  if (ours && isUsable(ours)) {
    return { name: ours.name, existing: ours, items: [keepItem('integration-runtime', ours.name,
      'exists; a node will be registered to it', [`state = ${ours.state ?? 'unknown'}`])] };
  }

  const name = ours ? freeRuntimeName(inventory, ourName) : ourName;
  return { name, items: [{
    action: 'create', kind: 'integration-runtime', name,
    detail: 'SelfHosted integration runtime',
    evidence: ours ? [`${ours.name} cannot take another node`] : ['no usable self-hosted runtime'],
  }] };
}

function freeRuntimeName(inventory: Inventory, base: string): string {
  return freeName(base, (name) => inventory.runtimes.some((runtime) => isNamed(runtime, name)));
}

/** `base`, else `base-2`, `base-3`… whichever is not taken. */
function freeName(base: string, isTaken: (name: string) => boolean): string {
  if (!isTaken(base)) return base;
  for (let index = 2; ; index += 1) {
    const name = `${base}-${index}`;
    if (!isTaken(name)) return name;
  }
}

interface HostChoice {
  decision: HostDecision;
  items: PlanItem[];
}

function chooseHost(inventory: Inventory, target: Target, runtimeName: string): HostChoice {
  const named = target.vmName ? findVm(inventory, target.vmName) : findOurVm(inventory);
  if (target.vmName && !named) throw vmNotFound(target.vmName);
  if (named && named.osType && named.osType.toLowerCase() !== 'windows') {
    throw notWindows(named);
  }

  const otherRuntime = named ? runtimeOnVm(inventory, named, runtimeName) : undefined;
  if (named && !otherRuntime) return reuseVm(named);

  const created = createHost(inventory);
  if (!named || !otherRuntime) return created;
  return { ...created, items: [keepItem('virtual-machine', named.name, `not used: already ` +
    `hosts a node of ${otherRuntime.name}, and one machine hosts one runtime`,
  [`runtime ${otherRuntime.name} lists a node on ${named.name}`]), ...created.items] };
}

function findVm(inventory: Inventory, name: string): VmView | undefined {
  return inventory.vms.find((vm) => vm.name.toLowerCase() === name.toLowerCase());
}

/** A VM an earlier session created (tagged); an untagged namesake is someone else's. */
function findOurVm(inventory: Inventory): VmView | undefined {
  return inventory.vms.find((vm) => vm.tags[TAGS.createdBy] === TAGS.createdByValue);
}

/** Another runtime with a node on this VM (F06); our own stale node does not count. */
function runtimeOnVm(inventory: Inventory, vm: VmView, ours: string): RuntimeView | undefined {
  return inventory.runtimes.find((runtime) => !isNamed(runtime, ours) &&
    runtime.nodes.some((node) => vmOfNode(inventory, node)?.name === vm.name));
}

function reuseVm(vm: VmView): HostChoice {
  const egress = vm.hasEgress === false ? 'nat-gateway' : undefined;
  const items: PlanItem[] = [keepItem('virtual-machine', vm.name, 'reused: existing Windows VM',
    [`id = ${vm.id}`, `hasEgress = ${String(vm.hasEgress ?? 'unknown')}`])];
  if (egress) {
    items.push({
      action: 'create', kind: 'nat-gateway', name: networkNames(vm.name).natGateway,
      detail: 'NAT gateway with a Standard static public IP on the VM\'s subnet; no inbound ports',
      evidence: [`subnet ${vm.subnetId ?? '(unknown)'} has no outbound access`],
    });
  }
  return { decision: { mode: 'reuse-vm', vmName: vm.name, egress }, items };
}

function createHost(inventory: Inventory): HostChoice {
  const vmName = freeName(DEFAULT_VM_NAME, (name) => findVm(inventory, name) !== undefined);
  const evidence = ['no reusable VM with a free runtime slot'];
  const names = networkNames(vmName);
  const create = (kind: PlanItem['kind'], name: string, detail: string): PlanItem =>
    ({ action: 'create', kind, name, detail, evidence });
  return {
    decision: { mode: 'create', vmName, egress: 'nat-gateway' },
    items: [
      create('virtual-network', names.virtualNetwork, `subnet ${names.subnet}, no default ` +
        'outbound access'),
      create('network-security-group', names.securityGroup, 'no inbound allow rules'),
      create('public-ip', names.publicIp, 'Standard, static, for the NAT gateway'),
      create('nat-gateway', names.natGateway, 'outbound internet access for the subnet'),
      create('network-interface', names.networkInterface, 'private address only'),
      create('virtual-machine', vmName, 'Windows Server 2022, Standard_D4s_v5, no public RDP'),
    ],
  };
}

/**
 * Offline nodes with our node name (F14). A Limited or Initializing node is alive and is
 * diagnosed instead, never removed.
 */
function staleNodes(runtime: RuntimeView | undefined, nodeName: string): NodeView[] {
  return (runtime?.nodes ?? []).filter((node) =>
    node.nodeName.toLowerCase() === nodeName.toLowerCase() && node.status === 'Offline');
}

function staleNodeItem(runtimeName: string, node: NodeView): PlanItem {
  return {
    action: 'delete',
    kind: 'runtime-node',
    name: `${runtimeName}/${node.nodeName}`,
    detail: 'remove the stale node so the rebuilt VM can register under its name ' +
      '(needs approval)',
    evidence: [`node ${node.nodeName} is ${node.status}`],
  };
}

function installItems(runtimeName: string, nodeName: string, vmName: string): PlanItem[] {
  return [{
    action: 'create',
    kind: 'run-command',
    name: `${vmName}/shir-doctor-install`,
    detail: `install the runtime and register node ${nodeName} with ${runtimeName} ` +
      '(Run Command v2, TLS 1.2 forced, the auth key only as a protected parameter)',
    evidence: [`${vmName} must run the runtime, registered to ${runtimeName}`],
  }];
}

/**
 * F12: an old or expired node version, or auto-update off, is fixed in the same run: auto-update
 * is turned on and the nodes are upgraded (`runtime-update` step, once the node is Online).
 */
function upgradeItems(runtime: RuntimeView | undefined): PlanItem[] {
  if (!runtime) return [];
  const latest = runtime.latestVersion;
  const wanted = runtimeUpdateOf(runtime);
  if (!wanted) return [];

  const behind = runtime.nodes.filter((node) => wanted.upgradeNodes.includes(node.nodeName));
  const changes = [
    ...(wanted.enableAutoUpdate ? [`autoUpdate: ${runtime.autoUpdate} -> On`] : []),
    ...behind.map((node) => `upgrade node ${node.nodeName} ${node.version ?? '(unknown)'} -> ` +
      `${latest ?? 'the latest version'}`),
  ];
  return [{
    action: 'update',
    kind: 'integration-runtime',
    name: runtime.name,
    detail: changes.join('; '),
    evidence: [`autoUpdate = ${runtime.autoUpdate ?? 'unknown'}`,
      `latestVersion = ${latest ?? 'unknown'}`,
      ...behind.map((node) => `node ${node.nodeName}: version ${node.version ?? '?'}, ` +
        `versionStatus ${node.versionStatus ?? '?'}`)],
  }];
}

// ---- errors ----------------------------------------------------------------------------------

function vmNotFound(name: string): DoctorError {
  return new DoctorError({
    code: 'vm-not-found',
    what: `No VM named ${name} exists in the resource group.`,
    fix: 'Check --vm-name (the VM must be in the workspace\'s resource group), or leave it out ' +
      'to let shir-doctor create a VM.',
    exitCode: ExitCode.usage,
  });
}

function notWindows(vm: VmView): DoctorError {
  return new DoctorError({
    code: 'vm-not-windows',
    what: `VM ${vm.name} runs ${vm.osType}; the self-hosted integration runtime needs Windows.`,
    fix: 'Pass a Windows VM with --vm-name, or leave it out to let shir-doctor create one.',
    exitCode: ExitCode.usage,
  });
}
