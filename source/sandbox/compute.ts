/**
 * Microsoft.Compute: virtual machines (created through an asynchronous operation, ~6 s at demo
 * pacing), Run Command v2 (`virtualMachines/{vm}/runCommands/{name}`) and Run Command v1
 * (`POST .../runCommand`), both executed by the simulated guest.
 *
 * Run Command v2 state machine: PUT stores the command without `protectedParameters` and with
 * `instanceView.executionState: Running`; when the script's time is up the instance view gets
 * the exit code, output and error, and any node registration takes effect. Without
 * `asyncExecution` the PUT's operation completes at the same moment; with it, at once.
 * `treatFailureAsDeploymentFailure` turns a non-zero exit into a failed provisioning state.
 */
import type { ArmResources } from './arm.js';
import { completeRegistration, runScript, type Params, type Registration } from './guest-sim.js';
import { HttpFail, type Ctx, type Handler, type Reply, guid, idKey, json, match } from './http.js';
import type { Operations } from './operations.js';
import type { ArmResource } from './scenario.js';
import type { World } from './world.js';

const VM = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Compute/' +
  'virtualMachines/:vm';
const RUN_COMMAND_TYPE = 'Microsoft.Compute/virtualMachines/runCommands';

interface ComputeDeps {
  world: World;
  arm: ArmResources;
  operations: Operations;
  timeScale: number;
}

/** What a run command will report when it finishes (stored, never returned). */
interface PendingRun {
  finishAt: number;
  exitCode: number;
  output: string;
  error: string;
  failDeployment: boolean;
  registration?: Registration;
}

/** Registers the VM kind and returns the Run Command handler and the settle function. */
export function compute(deps: ComputeDeps): { handler: Handler; settle: () => boolean } {
  deps.arm.register({
    type: 'Microsoft.Compute/virtualMachines',
    tracked: true,
    listBySubscription: true,
    put: 'async',
    delete: 'async',
    durationMs: 6000,
    accept: (_ctx, next, existing) => acceptVm(deps.world, next, existing),
    present: (ctx, copy) => presentVm(ctx, copy),
    beforeDelete: (_ctx, stored) => { delete deps.world.state.guests[idKey(stored.id)]; },
  });
  deps.operations.on('register', (effect) => {
    if (effect.kind !== 'register') return;
    completeRegistration(deps.world, effect.registration as unknown as Registration,
      deps.timeScale);
  });
  return { handler: (ctx) => route(deps, ctx), settle: () => settleRuns(deps) };
}

function acceptVm(world: World, next: ArmResource, existing: ArmResource | undefined)
  : ArmResource {
  const props = (next.properties ??= {});
  const nics = props.networkProfile?.networkInterfaces;
  if (!Array.isArray(nics) || nics.length === 0) {
    throw new HttpFail(400, 'InvalidParameter',
      'Required parameter \'networkProfile\' is missing (null).');
  }
  for (const nic of nics) {
    if (!nic?.id || !world.get(nic.id)) {
      throw new HttpFail(400, 'InvalidResourceReference',
        `Resource ${nic?.id} referenced by resource ${next.id} was not found.`);
    }
  }
  if (props.osProfile) {
    props.osProfile = { ...props.osProfile };
    delete props.osProfile.adminPassword;
  }
  props.vmId = existing?.properties?.vmId ?? guid();
  props.timeCreated = existing?.properties?.timeCreated ?? new Date().toISOString();
  return next;
}

function presentVm(ctx: Ctx, copy: ArmResource): ArmResource {
  if (!/instanceView/i.test(ctx.query.get('$expand') ?? '')) return copy;
  copy.properties = { ...copy.properties, instanceView: instanceView(copy) };
  return copy;
}

function instanceView(vm: ArmResource) {
  const state = String(vm.properties?.provisioningState ?? 'Succeeded');
  return {
    computerName: vm.properties?.osProfile?.computerName ?? vm.name,
    osName: 'Windows Server 2022 Datacenter',
    osVersion: '10.0.20348',
    vmAgent: { vmAgentVersion: '2.7.41491.1102', statuses: [{ code: 'ProvisioningState/succeeded',
      level: 'Info', displayStatus: 'Ready', message: 'GuestAgent is running and processing ' +
      'the extensions.' }] },
    statuses: [
      { code: `ProvisioningState/${state.toLowerCase()}`, level: 'Info',
        displayStatus: `Provisioning ${state.toLowerCase()}` },
      { code: 'PowerState/running', level: 'Info', displayStatus: 'VM running' },
    ],
  };
}

function route(deps: ComputeDeps, ctx: Ctx): Reply | undefined {
  const view = match(`${VM}/instanceView`, ctx.path);
  if (view && ctx.method === 'GET') return json(instanceView(loadVm(deps, vmPath(ctx.path, 1))));

  const v1 = match(`${VM}/runCommand`, ctx.path);
  if (v1 && ctx.method === 'POST') return runCommandV1(deps, ctx);

  if (match(`${VM}/runCommands`, ctx.path) && ctx.method === 'GET') {
    const vm = loadVm(deps, vmPath(ctx.path, 1));
    const items = deps.world.list(vm.id, RUN_COMMAND_TYPE).map((r) => presentRun(ctx, r));
    return deps.arm.page(ctx, items);
  }
  const one = match(`${VM}/runCommands/:name`, ctx.path);
  if (!one) return undefined;
  if (ctx.method === 'GET') return getRun(deps, ctx);
  if (ctx.method === 'PUT') return putRun(deps, ctx, one.name);
  if (ctx.method === 'DELETE') return deleteRun(deps, ctx);
  return undefined;
}

function vmPath(path: string, dropSegments: number): string {
  return path.split('/').slice(0, -dropSegments).join('/');
}

function loadVm(deps: ComputeDeps, id: string): ArmResource {
  const vm = deps.world.get(id);
  if (!vm) deps.arm.missing(id);
  return vm;
}

function runnableVm(deps: ComputeDeps, id: string): ArmResource {
  const vm = loadVm(deps, id);
  if (vm.properties?.provisioningState !== 'Succeeded') {
    throw new HttpFail(409, 'OperationNotAllowed',
      `Operation 'runCommand' is not allowed on VM '${vm.name}' since the VM is ` +
      `${String(vm.properties?.provisioningState).toLowerCase()}.`);
  }
  return vm;
}

function toParams(list: unknown): Params {
  if (!Array.isArray(list)) return {};
  return Object.fromEntries(list.filter((p) => p && typeof p.name === 'string')
    .map((p) => [p.name, String(p.value ?? '')]));
}

function presentRun(ctx: Ctx, stored: ArmResource): ArmResource {
  const copy = structuredClone(stored);
  delete copy._pending;
  if (!/instanceView/i.test(ctx.query.get('$expand') ?? '')) delete copy.properties?.instanceView;
  return copy;
}

function getRun(deps: ComputeDeps, ctx: Ctx): Reply {
  const stored = deps.world.get(ctx.path);
  if (!stored) deps.arm.missing(ctx.path);
  return json(presentRun(ctx, stored));
}

function putRun(deps: ComputeDeps, ctx: Ctx, name: string): Reply {
  const vm = runnableVm(deps, vmPath(ctx.path, 2));
  const existing = deps.world.get(ctx.path);
  if (existing?._pending) {
    throw new HttpFail(409, 'Conflict',
      `Run command '${name}' is still running on VM '${vm.name}'. Wait for it to finish.`);
  }

  const body = (ctx.body ?? {}) as Partial<ArmResource>;
  const props = { ...(body.properties ?? {}) };
  const outcome = runScript(deps.world, vm, String(props.source?.script ?? ''),
    toParams(props.parameters), toParams(props.protectedParameters));
  delete props.protectedParameters;
  delete props.runAsPassword;

  const stored = runResource(ctx, vm, name, body, props, existing);
  stored._pending = {
    finishAt: Date.now() + outcome.durationMs * deps.timeScale,
    exitCode: outcome.exitCode, output: outcome.output, error: outcome.error,
    failDeployment: props.treatFailureAsDeploymentFailure === true,
    registration: outcome.register,
  } satisfies PendingRun;
  deps.world.put(stored);
  const op = startRunOperation(deps, ctx, vm, stored, outcome.durationMs);
  deps.world.save();
  return json(presentRun(ctx, stored), existing ? 200 : 201, deps.operations.headers(ctx, op));
}

/** The stored run command: what was sent minus secrets, Running, with server defaults. */
function runResource(ctx: Ctx, vm: ArmResource, name: string, body: Partial<ArmResource>,
  props: Record<string, any>, existing: ArmResource | undefined): ArmResource {
  return {
    ...body, id: existing?.id ?? ctx.path, name, type: RUN_COMMAND_TYPE,
    location: body.location ?? vm.location,
    properties: {
      asyncExecution: false, treatFailureAsDeploymentFailure: false, timeoutInSeconds: 0,
      ...props,
      provisioningState: existing ? 'Updating' : 'Creating',
      instanceView: { executionState: 'Running', executionMessage: '',
        startTime: new Date().toISOString(), statuses: [] },
    },
  };
}

/**
 * The PUT's operation: with asyncExecution it completes at once and provisions the resource;
 * otherwise it completes with the script, failed when the script fails and
 * treatFailureAsDeploymentFailure is set.
 */
function startRunOperation(deps: ComputeDeps, ctx: Ctx, vm: ArmResource, stored: ArmResource,
  durationMs: number) {
  const pending = stored._pending as PendingRun;
  const isAsync = stored.properties?.asyncExecution === true;
  const fails = !isAsync && pending.failDeployment && pending.exitCode !== 0;
  return deps.operations.start({
    subscriptionId: ctx.path.split('/')[2], provider: 'Microsoft.Compute',
    location: vm.location, durationMs: isAsync ? 300 : durationMs,
    effect: isAsync ? { kind: 'provisioned', resourceId: stored.id } : { kind: 'none' },
    outcome: fails ? 'Failed' : 'Succeeded',
    error: { code: 'VMExtensionProvisioningError',
      message: `Run command '${stored.name}' failed with exit code ${pending.exitCode}.` },
  });
}

function deleteRun(deps: ComputeDeps, ctx: Ctx): Reply {
  if (!deps.world.remove(ctx.path)) return { status: 204 };
  deps.world.save();
  return { status: 200 };
}

function settleRuns(deps: ComputeDeps): boolean {
  let changed = false;
  for (const run of Object.values(deps.world.state.resources)) {
    const pending = run._pending as PendingRun | undefined;
    if (run.type !== RUN_COMMAND_TYPE || !pending || pending.finishAt > Date.now()) continue;
    finishRun(deps, run, pending);
    changed = true;
  }
  return changed;
}

function finishRun(deps: ComputeDeps, run: ArmResource, pending: PendingRun): void {
  delete run._pending;
  const failed = pending.exitCode !== 0;
  const props = (run.properties ??= {});
  props.instanceView = {
    ...props.instanceView,
    executionState: failed ? 'Failed' : 'Succeeded',
    executionMessage: failed ? `Script execution failed with exit code ${pending.exitCode}.`
      : 'Script execution succeeded.',
    exitCode: pending.exitCode,
    output: pending.output,
    error: pending.error,
    endTime: new Date().toISOString(),
  };
  if (!props.asyncExecution) {
    props.provisioningState = failed && pending.failDeployment ? 'Failed' : 'Succeeded';
  }
  if (pending.registration) {
    completeRegistration(deps.world, pending.registration, deps.timeScale);
  }
}

function runCommandV1(deps: ComputeDeps, ctx: Ctx): Reply {
  const vm = runnableVm(deps, vmPath(ctx.path, 1));
  const body = (ctx.body ?? {}) as { commandId?: string; script?: string[];
    parameters?: unknown };
  const script = (body.script ?? []).join('\n');
  const params = toParams(body.parameters);
  const outcome = runScript(deps.world, vm, script, params, params);

  const line = (code: string, message: string) => ({ code, level: 'Info',
    displayStatus: 'Provisioning succeeded', message });
  const op = deps.operations.start({
    subscriptionId: ctx.path.split('/')[2], provider: 'Microsoft.Compute',
    location: vm.location, durationMs: outcome.durationMs,
    effect: outcome.register
      ? { kind: 'register', registration: { ...outcome.register } }
      : { kind: 'none' },
    result: { value: [line('ComponentStatus/StdOut/succeeded', outcome.output),
      line('ComponentStatus/StdErr/succeeded', outcome.error)] },
  });
  deps.world.save();
  return { status: 202, headers: deps.operations.headers(ctx, op, true) };
}
