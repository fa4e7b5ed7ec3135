/**
 * The machine that hosts the self-hosted runtime, and the order of every host step.
 *
 * Policy: a new VM is Windows Server 2022 (Standard_D4s_v5: 4 cores, 16 GB, above the
 * runtime's recommended minimum) in the workspace's region, on the subnet the `network` step
 * made, with no public IP and no inbound rule. Its admin password is generated here, registered
 * with the redactor at once and never journaled or shown: nobody needs to sign in, Run Command
 * does the work. A reused VM must exist and run Windows.
 *
 * Step graph (`infrastructureSteps`): network → vm → probe; runtime → auth-key and
 * runtime → stale-nodes; vm + auth-key + stale-nodes + probe → install → online →
 * runtime-update. The probe runs before install so a VM that cannot reach the service is found
 * before anything is installed; auto-update and the upgrade (F12) wait for an Online node, which
 * the service needs to upgrade.
 */
import { randomInt } from 'node:crypto';
import type { VirtualMachine, VirtualMachineInstanceView } from '@azure/arm-compute';

import type { AzureClients } from '../azure/types.js';
import { DoctorError, ExitCode } from '../engine/errors.js';
import { registerSecret } from '../engine/redact.js';
import type { Step, StepIO, StepOutcome } from '../engine/step.js';
import type { Target } from '../engine/types.js';
import type { FixContext, VmView } from './context.js';
import { installStep } from './install.js';
import {
  egressFacts,
  findVm,
  hasEgress,
  locationOf,
  networkNames,
  networkStep,
  pollOptions,
  readVmNetwork,
} from './network.js';
import { onlineStep } from './online.js';
import { probeStep } from './probe.js';
import {
  armId,
  asDoctorError,
  creationTags,
  isCreatedByUs,
  isNotFound,
  journaled,
  parseArmId,
  sleep,
  tuningOf,
} from './resources.js';
import { authKeyStep, runtimeStep, runtimeUpdateStep, staleNodesStep } from './runtime.js';

/** The VM shir-doctor creates. */
export const NEW_VM = {
  size: 'Standard_D4s_v5',
  adminUsername: 'shirdoctor',
  image: {
    publisher: 'MicrosoftWindowsServer',
    offer: 'WindowsServer',
    sku: '2022-datacenter-azure-edition',
    version: 'latest',
  },
} as const;

/** Every host step, with the dependency edges that let independent work run concurrently. */
export function infrastructureSteps(): Step<FixContext>[] {
  return [
    networkStep(),
    vmStep(),
    runtimeStep(),
    authKeyStep(),
    staleNodesStep(),
    probeStep(),
    installStep(),
    onlineStep(),
    runtimeUpdateStep(),
  ];
}

export function vmStep(): Step<FixContext> {
  return {
    id: 'vm',
    title: 'Virtual machine for the runtime',
    dependsOn: ['network'],
    run: runVm,
  };
}

async function runVm(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const { host } = context.decisions;
  const existing = await findVm(context.clients, context.target, host.vmName);
  if (host.mode === 'reuse-runtime' && !existing) {
    return { status: 'skipped', reason: 'the existing runtime node is not a VM in this group' };
  }

  if (existing && host.mode === 'create' && !isCreatedByUs(existing.tags)) {
    throw vmNameTaken(host.vmName);
  }
  if (existing) return useExistingVm(context, await settledVm(context, io, existing));
  if (host.mode !== 'create') throw vmNotFound(context.target, host.vmName);

  const vm = await createVm(context, io);
  context.produced.vmId = vm.id;
  return { status: 'succeeded', summary: `Created ${vm.name} (${NEW_VM.size}), no public IP` };
}

const VM_SETTLE_DEADLINE_MS = 20 * 60_000;

/**
 * A VM whose create or update is still running (an interrupted session left it in flight)
 * cannot take a Run Command yet: wait until Azure finishes it, then use it as it stands.
 */
async function settledVm(
  context: FixContext,
  io: StepIO,
  vm: VirtualMachine,
): Promise<VirtualMachine> {
  const deadline = Date.now() + VM_SETTLE_DEADLINE_MS;
  let current = vm;
  while (isVmBusy(current) && Date.now() < deadline) {
    io.progress(`waiting for VM ${vm.name} to finish ${current.provisioningState}`);
    await sleep(tuningOf(context).pollIntervalMs, io.signal);
    current = await context.clients.compute.virtualMachines
      .get(context.target.resourceGroup, vm.name ?? '')
      .catch((error: unknown) => {
        throw asDoctorError(error, 'read the virtual machine', vm.name);
      });
  }
  return current;
}

function isVmBusy(vm: VirtualMachine): boolean {
  const state = (vm.provisioningState ?? 'Succeeded').toLowerCase();

  return state === 'creating' || state === 'updating';
}

async function useExistingVm(context: FixContext, vm: VirtualMachine): Promise<StepOutcome> {
  const osType = vm.storageProfile?.osDisk?.osType;
  if (osType && osType.toLowerCase() !== 'windows') {
    throw new DoctorError({
      code: 'vm-not-windows',
      what: `VM ${vm.name} runs ${osType}; the self-hosted runtime needs 64-bit Windows.`,
      fix: 'Choose a Windows VM with --vm-name, or omit it to let shir-doctor create one.',
      exitCode: ExitCode.blocked,
    });
  }

  const view = await context.clients.compute.virtualMachines
    .instanceView(context.target.resourceGroup, vm.name ?? '')
    .catch((error: unknown) => {
      throw asDoctorError(error, 'read the state of the virtual machine', vm.name);
    });
  const problem = readinessProblem(vm.name ?? '', view);
  if (problem) throw problem;

  context.produced.vmId = vm.id;
  return { status: 'succeeded', summary: `Using VM ${vm.name} (${vm.location})` };
}

/**
 * Run Command needs a running VM whose guest agent is Ready; says what is wrong, or undefined.
 * A view without statuses (some API versions) is given the benefit of the doubt.
 */
export function readinessProblem(
  vmName: string,
  view: VirtualMachineInstanceView,
): DoctorError | undefined {
  const codes = (view.statuses ?? []).map((status) => status.code ?? '');
  const power = codes.find((code) => code.startsWith('PowerState/'));
  if (power && power !== 'PowerState/running') {
    return new DoctorError({
      code: 'vm-not-running',
      what: `VM ${vmName} is not running (${power.slice('PowerState/'.length)}).`,
      why: 'The runtime is installed through Run Command, which needs the VM running.',
      fix: `Start the VM (az vm start --name ${vmName} --resource-group <group>), then run ` +
        'shir-doctor again.',
      exitCode: ExitCode.blocked,
    });
  }

  const agent = view.vmAgent?.statuses?.[0]?.displayStatus;
  if (agent && agent !== 'Ready') {
    return new DoctorError({
      code: 'vm-agent-not-ready',
      what: `The VM agent on ${vmName} is ${agent}, not Ready.`,
      why: 'Run Command talks to the VM through its agent.',
      fix: 'Restart the VM or repair its Azure VM agent (portal: VM > Help > Reset), then run ' +
        'shir-doctor again.',
      exitCode: ExitCode.blocked,
    });
  }
  return undefined;
}

function vmNotFound(target: Target, vmName: string): DoctorError {
  return new DoctorError({
    code: 'vm-not-found',
    what: `VM ${vmName} was not found in resource group ${target.resourceGroup}.`,
    fix: 'Check --vm-name (the VM must be in the workspace\'s resource group), ' +
      'or omit it to let shir-doctor create one.',
    exitCode: ExitCode.usage,
  });
}

/** The plan meant to create this VM, but one it did not make already has the name. */
function vmNameTaken(vmName: string): DoctorError {
  return new DoctorError({
    code: 'vm-name-taken',
    what: `A VM named ${vmName} already exists and was not created by shir-doctor.`,
    why: 'The plan was to create a new VM under this name; using someone else\'s machine ' +
      'without being asked could break what runs on it.',
    fix: `Pass --vm-name ${vmName} to host the runtime on it deliberately, or delete or ` +
      'rename it, then run shir-doctor again.',
    exitCode: ExitCode.blocked,
  });
}

async function createVm(context: FixContext, io: StepIO): Promise<VirtualMachine> {
  const vmName = context.decisions.host.vmName;
  const nicId = await ensureNic(context, io, vmName);
  const password = generatePassword();
  registerSecret(password);

  const intent = {
    action: 'create' as const,
    kind: 'virtual-machine' as const,
    name: vmName,
    resourceId: armId(context, 'Microsoft.Compute', `virtualMachines/${vmName}`),
  };
  io.progress(`provisioning VM ${vmName} (${NEW_VM.size}); this takes a few minutes`);
  return journaled(io.journal, intent, 'create the virtual machine', () =>
    context.clients.compute.virtualMachines.createOrUpdate(
      context.target.resourceGroup,
      vmName,
      vmDefinition(context, io, nicId, password),
      pollOptions(context),
    ),
  );
}

function vmDefinition(
  context: FixContext,
  io: StepIO,
  nicId: string,
  password: string,
): VirtualMachine {
  const vmName = context.decisions.host.vmName;
  return {
    location: locationOf(context),
    tags: creationTags(io.journal),
    hardwareProfile: { vmSize: NEW_VM.size },
    storageProfile: {
      imageReference: { ...NEW_VM.image },
      osDisk: {
        createOption: 'FromImage',
        managedDisk: { storageAccountType: 'Premium_LRS' },
        deleteOption: 'Delete',
      },
    },
    osProfile: {
      computerName: computerNameOf(vmName),
      adminUsername: NEW_VM.adminUsername,
      adminPassword: password,
      windowsConfiguration: { provisionVMAgent: true, enableAutomaticUpdates: true },
    },
    networkProfile: { networkInterfaces: [{ id: nicId, primary: true }] },
  };
}

/** A NIC on the step's subnet with no public IP. */
async function ensureNic(context: FixContext, io: StepIO, vmName: string): Promise<string> {
  const { network } = context.clients;
  const { resourceGroup } = context.target;
  const name = networkNames(vmName).networkInterface;
  try {
    const nic = await network.networkInterfaces.get(resourceGroup, name);
    if (nic.id) return nic.id;
  } catch (error) {
    if (!isNotFound(error)) throw asDoctorError(error, 'read network interface', name);
  }

  const subnetId = context.produced.subnetId ?? newSubnetId(context, vmName);
  const intent = { action: 'create' as const, kind: 'network-interface' as const, name,
    resourceId: armId(context, 'Microsoft.Network', `networkInterfaces/${name}`) };
  io.progress(`creating network interface ${name}`);
  const nic = await journaled(io.journal, intent, 'create network interface', () =>
    network.networkInterfaces.beginCreateOrUpdateAndWait(resourceGroup, name, {
      location: locationOf(context),
      tags: creationTags(io.journal),
      ipConfigurations: [{
        name: 'primary',
        primary: true,
        privateIPAllocationMethod: 'Dynamic',
        subnet: { id: subnetId },
      }],
    }, pollOptions(context)),
  );
  return nic.id ?? intent.resourceId;
}

function newSubnetId(context: FixContext, vmName: string): string {
  const names = networkNames(vmName);
  return armId(context, 'Microsoft.Network',
    `virtualNetworks/${names.virtualNetwork}/subnets/${names.subnet}`);
}

/** Windows computer names hold at most 15 letters, digits and hyphens. */
export function computerNameOf(vmName: string): string {
  const cleaned = vmName.replace(/[^A-Za-z0-9-]/g, '').slice(0, 15).replace(/-+$/, '');
  return cleaned.length > 0 ? cleaned : 'shirhost';
}

const PASSWORD_SETS = [
  'ABCDEFGHJKLMNPQRSTUVWXYZ',
  'abcdefghijkmnopqrstuvwxyz',
  '23456789',
  '!#%+-=?_',
] as const;

/**
 * A 24-character password with all four character classes Azure demands for Windows, from
 * the platform's cryptographic generator.
 */
export function generatePassword(length = 24): string {
  const all = PASSWORD_SETS.join('');
  const chars = PASSWORD_SETS.map((set) => set[randomInt(set.length)]);
  while (chars.length < length) chars.push(all[randomInt(all.length)]);

  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}

/**
 * Every VM in the target's resource group with what decides whether it can host the runtime:
 * OS type, subnet and whether it has outbound access (NAT gateway, NIC public IP, or default
 * outbound access on the subnet).
 */
export async function listVms(clients: AzureClients, target: Target): Promise<VmView[]> {
  const views: VmView[] = [];
  try {
    for await (const vm of clients.compute.virtualMachines.list(target.resourceGroup)) {
      views.push(await toVmView(clients, vm));
    }
  } catch (error) {
    throw asDoctorError(error, 'list virtual machines', target.resourceGroup);
  }
  return views;
}

async function toVmView(clients: AzureClients, vm: VirtualMachine): Promise<VmView> {
  const view: VmView = {
    name: vm.name ?? '',
    id: vm.id ?? '',
    location: vm.location,
    osType: vm.storageProfile?.osDisk?.osType,
    tags: vm.tags ?? {},
  };
  const network = await readNetworkOf(clients, vm).catch(() => undefined);
  if (!network) return view;

  return { ...view, subnetId: network.subnetId, hasEgress: network.hasEgress };
}

async function readNetworkOf(
  clients: AzureClients,
  vm: VirtualMachine,
): Promise<{ subnetId?: string; hasEgress?: boolean } | undefined> {
  const nicRef = vm.networkProfile?.networkInterfaces?.find((item) => item.primary !== false);
  if (!nicRef?.id) return undefined;

  const nicParts = parseArmId(nicRef.id);
  const nic = await clients.network.networkInterfaces.get(nicParts.resourceGroup, nicParts.name);
  const subnetId = nic.ipConfigurations?.[0]?.subnet?.id;
  if (!subnetId) return { subnetId };

  const parts = parseArmId(subnetId);
  const subnet = await clients.network.subnets.get(parts.resourceGroup, parts.parentName ?? '',
    parts.name);
  return { subnetId, hasEgress: hasEgress(egressFacts(subnet, nic)) };
}

export { findVm, readVmNetwork };
