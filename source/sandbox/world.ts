/**
 * The sandbox's world: every ARM resource keyed by its lower-cased id, the dev endpoint artifacts
 * of each workspace, and the service-side state ARM does not show (runtime nodes and auth keys,
 * what is inside each VM, running operations and pipeline runs).
 *
 * The world is saved to `<stateDir>/world.json` after every change, so a second start continues
 * where the first left off, as a real tenant would. A different scenario, or `reset`, starts from
 * the scenario file again. Auth keys are stored as parts and assembled on demand, so the world
 * file never holds a string of the auth-key shape.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { guid, idKey } from './http.js';
import type {
  ArmResource, ArtifactSeed, GuestSeed, NodeSeed, RuntimeSeed, Scenario,
} from './scenario.js';

/** A runtime node as the service tracks it. */
export interface NodeState extends NodeSeed {
  registerTime: string;
  /** Epoch ms when an Initializing node turns Online. */
  onlineAt?: number;
  /** Lower-cased id of the VM hosting the node. */
  vmId?: string;
}

/** One half of an auth key: the key is assembled from these at read time. */
export interface KeyParts {
  id: string;
  secret: string;
}

/** Service-side state of a self-hosted runtime. */
export interface RuntimeState extends Omit<RuntimeSeed, 'nodes'> {
  nodes: NodeState[];
  keys: { authKey1: KeyParts; authKey2: KeyParts };
  createTime: string;
}

/** What is inside one VM. */
export interface GuestState extends GuestSeed {
  /** Install attempts so far (for msiBusyTimes). */
  installAttempts?: number;
}

/** A linked service or pipeline on a dev endpoint. */
export interface DevArtifact {
  name: string;
  properties: Record<string, any>;
  etag: string;
}

/** One activity run inside a pipeline run. */
export interface ActivityRunState {
  activityName: string;
  activityType: string;
  activityRunId: string;
  status: 'Queued' | 'InProgress' | 'Succeeded' | 'Failed';
  start: string;
  end?: string;
  durationInMs?: number;
  input: unknown;
  output?: unknown;
  error?: { errorCode: string; message: string; failureType: string; target: string };
  runtimeName: string;
}

/** One pipeline run. */
export interface PipelineRunState {
  runId: string;
  pipelineName: string;
  parameters: Record<string, unknown>;
  createdAt: number;
  /** Epoch ms when the run leaves Queued. */
  startAt: number;
  /** Epoch ms before which the run does not finish, whatever its activities do. */
  minEndAt: number;
  status: 'Queued' | 'InProgress' | 'Succeeded' | 'Failed' | 'Cancelled';
  message: string;
  end?: string;
  activities: ActivityRunState[];
  /** True once the activity calls were made (or failed); false while they are in flight. */
  executed: boolean;
}

/** An operation on a dev endpoint (PUT of an artifact) waiting to be polled. */
export interface DevOperation {
  kind: 'linkedservices' | 'pipelines';
  name: string;
  polls: number;
}

/** The dev endpoint content of one workspace. */
export interface DevWorkspace {
  linkedServices: Record<string, DevArtifact>;
  pipelines: Record<string, DevArtifact>;
  runs: Record<string, PipelineRunState>;
  operations: Record<string, DevOperation>;
}

/** A finished effect an ARM operation applies when it completes. */
export type OperationEffect =
  | { kind: 'provisioned'; resourceId: string }
  /** A Run Command v1 registration (see guest-sim.ts Registration). */
  | { kind: 'register'; registration: Record<string, unknown> }
  | { kind: 'none' };

/** An ARM asynchronous operation (Azure-AsyncOperation). */
export interface Operation {
  id: string;
  subscriptionId: string;
  provider: string;
  location: string;
  startTime: string;
  /** Epoch ms when it completes. */
  doneAt: number;
  polls: number;
  /** Final status once done. */
  outcome: 'Succeeded' | 'Failed';
  error?: { code: string; message: string };
  /** Body of the `monitor=true` Location GET once done (Run Command v1). */
  result?: unknown;
  effect: OperationEffect;
  applied: boolean;
}

/** The whole persisted state. */
export interface WorldState {
  version: 1;
  scenario: Scenario;
  signingKey: string;
  resources: Record<string, ArmResource>;
  dev: Record<string, DevWorkspace>;
  runtimes: Record<string, RuntimeState>;
  guests: Record<string, GuestState>;
  operations: Record<string, Operation>;
}

/** The live world and its persistence. */
export class World {
  readonly state: WorldState;
  private readonly file: string;
  private closed = false;

  constructor(stateDir: string, scenario: Scenario, reset: boolean) {
    mkdirSync(stateDir, { recursive: true });
    this.file = join(stateDir, 'world.json');
    const saved = reset ? undefined : readSaved(this.file);
    this.state = saved && saved.scenario.id === scenario.id ? saved : buildWorld(scenario);
    this.save();
  }

  /** Saves a last time; later changes (work still in flight) are not written. */
  close(): void {
    this.save();
    this.closed = true;
  }

  get scenario(): Scenario {
    return this.state.scenario;
  }

  /** Writes the world to disk atomically. Call after every change. */
  save(): void {
    if (this.closed) return;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1));
    renameSync(tmp, this.file);
  }

  /** The stored resource, or undefined. */
  get(id: string): ArmResource | undefined {
    return this.state.resources[idKey(id)];
  }

  put(resource: ArmResource): ArmResource {
    this.state.resources[idKey(resource.id)] = resource;
    return resource;
  }

  remove(id: string): boolean {
    const key = idKey(id);
    if (!this.state.resources[key]) return false;
    delete this.state.resources[key];
    return true;
  }

  /** Resources of `type` whose id starts with `scope` (a subscription, RG or parent id). */
  list(scope: string, type: string): ArmResource[] {
    const prefix = `${idKey(scope)}/`;
    const want = type.toLowerCase();
    return Object.entries(this.state.resources)
      .filter(([key, r]) => key.startsWith(prefix) && r.type.toLowerCase() === want)
      .map(([, r]) => r);
  }

  /** The dev endpoint content of a workspace, created empty if needed. */
  dev(workspaceName: string): DevWorkspace {
    const key = workspaceName.toLowerCase();
    this.state.dev[key] ??= { linkedServices: {}, pipelines: {}, runs: {}, operations: {} };
    return this.state.dev[key];
  }

  /** The service-side state of a self-hosted runtime, created on first use. */
  runtime(runtimeId: string): RuntimeState {
    const key = idKey(runtimeId);
    this.state.runtimes[key] ??= newRuntime({});
    return this.state.runtimes[key];
  }

  /** The inside of a VM, created from the scenario's `newVmGuest` on first use. */
  guest(vmId: string): GuestState {
    const key = idKey(vmId);
    this.state.guests[key] ??= structuredClone(this.scenario.newVmGuest ?? {});
    return this.state.guests[key];
  }
}

/** A new ETag in the shape the Synapse service uses. */
export function newEtag(): string {
  const hex = randomBytes(4).toString('hex');
  const tail = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return `"${hex}-0000-0100-0000-${tail}0000"`;
}

/** Fresh service-side state for a runtime. */
export function newRuntime(seed: RuntimeSeed): RuntimeState {
  const now = new Date().toISOString();
  return {
    version: seed.version ?? '5.44.8984.1',
    latestVersion: seed.latestVersion ?? '5.44.8984.1',
    versionStatus: seed.versionStatus ?? 'UpToDate',
    autoUpdate: seed.autoUpdate ?? 'On',
    nodes: (seed.nodes ?? []).map((n) => ({ ...n, registerTime: now })),
    keys: { authKey1: newKeyParts(), authKey2: newKeyParts() },
    createTime: now,
  };
}

/** New random parts for one auth key. */
export function newKeyParts(): KeyParts {
  return { id: guid(), secret: randomBytes(24).toString('base64') };
}

/**
 * The scenario of the world saved under `stateDir`, if any: a start that names no scenario
 * continues that world instead of replacing it with the default one.
 */
export function savedScenario(stateDir: string): Scenario | undefined {
  return readSaved(join(stateDir, 'world.json'))?.scenario;
}

/** A saved world that exists but cannot be continued; it is left as it is. */
export class SandboxStateError extends Error {
  override name = 'SandboxStateError';
}

/** The saved world; one that cannot be read is an error, not silently replaced. */
function readSaved(file: string): WorldState | undefined {
  if (!existsSync(file)) return undefined;
  let state: WorldState | undefined;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as WorldState;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new SandboxStateError(`the sandbox world ${file} cannot be read: ${why}`);
  }
  if (state?.version !== 1 || typeof state.scenario?.id !== 'string') {
    throw new SandboxStateError(`the sandbox world ${file} was not written by this version`);
  }
  return state;
}

function buildWorld(scenario: Scenario): WorldState {
  const state: WorldState = {
    version: 1,
    scenario,
    signingKey: randomBytes(32).toString('hex'),
    resources: {},
    dev: {},
    runtimes: {},
    guests: {},
    operations: {},
  };
  for (const resource of scenario.resources ?? []) addSeedResource(state, resource);
  for (const [ws, content] of Object.entries(scenario.workspaces ?? {})) {
    state.dev[ws.toLowerCase()] = seedDev(content.linkedServices ?? [], content.pipelines ?? []);
  }
  seedRuntimes(state, scenario);
  seedGuests(state, scenario);
  return state;
}

function addSeedResource(state: WorldState, seed: ArmResource): void {
  const resource = structuredClone(seed);
  resource.properties ??= {};
  resource.properties.provisioningState ??= 'Succeeded';
  const subnets = resource.type.toLowerCase() === 'microsoft.network/virtualnetworks'
    ? (resource.properties.subnets ?? []) as ArmResource[]
    : [];
  delete resource.properties.subnets;
  state.resources[idKey(resource.id)] = resource;

  for (const subnet of subnets) {
    addSeedResource(state, {
      ...subnet,
      id: subnet.id ?? `${resource.id}/subnets/${subnet.name}`,
      type: 'Microsoft.Network/virtualNetworks/subnets',
    });
  }
}

function seedDev(linkedServices: ArtifactSeed[], pipelines: ArtifactSeed[]): DevWorkspace {
  const toMap = (items: ArtifactSeed[]) => Object.fromEntries(items.map((a) => [
    a.name.toLowerCase(),
    { name: a.name, properties: structuredClone(a.properties), etag: newEtag() },
  ]));
  return { linkedServices: toMap(linkedServices), pipelines: toMap(pipelines), runs: {},
    operations: {} };
}

function findByName(state: WorldState, type: string, name: string): ArmResource | undefined {
  return Object.values(state.resources).find((r) =>
    r.type.toLowerCase() === type.toLowerCase() && r.name.toLowerCase() === name.toLowerCase());
}

function seedRuntimes(state: WorldState, scenario: Scenario): void {
  for (const [path, seed] of Object.entries(scenario.runtimes ?? {})) {
    const [wsName, irName] = path.split('/');
    const ws = findByName(state, 'Microsoft.Synapse/workspaces', wsName);
    if (!ws) throw new Error(`scenario ${scenario.id}: runtime ${path} has no workspace`);
    const runtime = newRuntime(seed);
    for (const node of runtime.nodes) {
      const vm = node.vmName &&
        findByName(state, 'Microsoft.Compute/virtualMachines', node.vmName);
      if (vm) node.vmId = idKey(vm.id);
    }
    state.runtimes[idKey(`${ws.id}/integrationRuntimes/${irName}`)] = runtime;
  }
}

function seedGuests(state: WorldState, scenario: Scenario): void {
  for (const [vmName, seed] of Object.entries(scenario.guests ?? {})) {
    const vm = findByName(state, 'Microsoft.Compute/virtualMachines', vmName);
    if (!vm) throw new Error(`scenario ${scenario.id}: guest ${vmName} has no VM`);
    state.guests[idKey(vm.id)] = structuredClone(seed);
  }
}
