/**
 * The `network` step: outbound access for the VM that hosts the runtime, and never inbound.
 *
 * Policy (F17): new subnets get no default outbound access, so a new VM's subnet gets
 * `defaultOutboundAccess: false` plus a NAT gateway with a Standard static public IP, and an
 * NSG with no rules of ours (only Azure's defaults, which allow no inbound traffic from the
 * internet). A reused VM whose subnet has no egress gets what the plan decided: a NAT gateway on
 * its subnet, or a Standard static public IP on its NIC. Nothing here ever adds an inbound rule.
 * Every resource is looked up first, so a rerun finds the work done and says so.
 */
import type { VirtualMachine } from '@azure/arm-compute';
import type { NetworkInterface, Subnet } from '@azure/arm-network';

import { DoctorError } from '../engine/errors.js';
import type { Step, StepIO, StepOutcome } from '../engine/step.js';
import type { ResourceKind } from '../engine/types.js';
import type { AzureClients } from '../azure/types.js';
import type { Target } from '../engine/types.js';
import type { FixContext } from './context.js';
import {
  armId,
  asDoctorError,
  creationTags,
  isNotFound,
  journaled,
  parseArmId,
  tuningOf,
} from './resources.js';

/** Names of the network resources made for a new VM, derived from the VM name. */
export interface NetworkNames {
  virtualNetwork: string;
  subnet: string;
  securityGroup: string;
  natGateway: string;
  publicIp: string;
  networkInterface: string;
}

/** Address space of a VNet shir-doctor creates; one small subnet holds the VM. */
export const NEW_NETWORK = { addressSpace: '10.80.0.0/24', subnetPrefix: '10.80.0.0/27' } as const;

export function networkNames(vmName: string): NetworkNames {
  return {
    virtualNetwork: `${vmName}-vnet`,
    subnet: 'shir',
    securityGroup: `${vmName}-nsg`,
    natGateway: `${vmName}-natgw`,
    publicIp: `${vmName}-egress-ip`,
    networkInterface: `${vmName}-nic`,
  };
}

/** What decides whether a subnet (and the NIC in it) can reach the internet. */
export interface EgressFacts {
  defaultOutboundAccess?: boolean;
  hasNatGateway: boolean;
  hasNicPublicIp: boolean;
}

/**
 * True when the VM can open outbound connections: a NAT gateway on the subnet, a public IP on
 * the NIC, or default outbound access (on unless the subnet says `false`, for API versions
 * before 2025-07-01).
 */
export function hasEgress(facts: EgressFacts): boolean {
  if (facts.hasNatGateway || facts.hasNicPublicIp) return true;

  return facts.defaultOutboundAccess !== false;
}

/** Egress facts read from a subnet and the NIC that sits in it. */
export function egressFacts(subnet: Subnet, nic?: NetworkInterface): EgressFacts {
  const hasNicPublicIp = (nic?.ipConfigurations ?? []).some((ip) => !!ip.publicIPAddress?.id);
  return {
    defaultOutboundAccess: subnet.defaultOutboundAccess,
    hasNatGateway: !!subnet.natGateway?.id,
    hasNicPublicIp,
  };
}

export function networkStep(): Step<FixContext> {
  return {
    id: 'network',
    title: 'Outbound network for the runtime VM',
    dependsOn: [],
    run: runNetwork,
  };
}

async function runNetwork(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const { host } = context.decisions;
  if (host.mode === 'reuse-runtime') {
    return { status: 'skipped', reason: 'the existing runtime node already has egress' };
  }

  if (host.mode === 'create') return createNetwork(context, io);
  if (!host.egress) return { status: 'skipped', reason: `${host.vmName} already has egress` };

  return addEgressToVm(context, io, host.egress);
}

/** A resource to look up and create when missing. */
interface Ensured<T> {
  kind: ResourceKind;
  name: string;
  resourceId: string;
  get(): Promise<T>;
  create(): Promise<T>;
}

/** Looks a resource up; creates it (journaled) when absent. Says which happened. */
async function ensure<T>(
  io: StepIO,
  item: Ensured<T>,
): Promise<{ resource: T; isNew: boolean }> {
  try {
    return { resource: await item.get(), isNew: false };
  } catch (error) {
    if (!isNotFound(error)) throw asDoctorError(error, `read ${item.kind}`, item.name);
  }

  io.progress(`creating ${item.kind} ${item.name}`);
  const intent = { action: 'create' as const, kind: item.kind, name: item.name,
    resourceId: item.resourceId };
  const resource = await journaled(io.journal, intent, `create ${item.kind}`, item.create);
  return { resource, isNew: true };
}

async function createNetwork(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const names = networkNames(context.decisions.host.vmName);
  await io.journal.remember('network.names', names);

  const location = locationOf(context);
  const publicIp = await ensurePublicIp(context, io, names.publicIp, location);
  const natGateway = await ensureNatGateway(context, io, names.natGateway, publicIp.id, location);
  const securityGroup = await ensureSecurityGroup(context, io, names.securityGroup);
  const created = [publicIp, natGateway, securityGroup].filter((item) => item.isNew).length;

  const vnet = await ensureVirtualNetwork(context, io, names, natGateway.id, securityGroup.id);
  const subnet = await ensureSubnetEgress(context, io, names, natGateway.id, securityGroup.id);
  context.produced.subnetId = subnet.id;

  const total = created + (vnet.isNew ? 1 : 0) + (subnet.isUpdated ? 1 : 0);
  return {
    status: 'succeeded',
    summary: total === 0
      ? `Network ${names.virtualNetwork} already in place with NAT gateway egress`
      : `Network ${names.virtualNetwork} ready: NAT gateway egress, no inbound rules`,
  };
}

/** A resource that exists now, and whether this run created it. */
interface Made {
  id: string;
  isNew: boolean;
}

async function ensurePublicIp(
  context: FixContext,
  io: StepIO,
  name: string,
  location: string,
): Promise<Made> {
  const { network } = context.clients;
  const { resourceGroup } = context.target;
  const { resource, isNew } = await ensure(io, {
    kind: 'public-ip',
    name,
    resourceId: armId(context, 'Microsoft.Network', `publicIPAddresses/${name}`),
    get: () => network.publicIPAddresses.get(resourceGroup, name),
    create: () => network.publicIPAddresses.beginCreateOrUpdateAndWait(resourceGroup, name, {
      location,
      tags: creationTags(io.journal),
      sku: { name: 'Standard', tier: 'Regional' },
      publicIPAllocationMethod: 'Static',
      publicIPAddressVersion: 'IPv4',
    }, pollOptions(context)),
  });
  return { id: requireId(resource.id, name), isNew };
}

async function ensureNatGateway(
  context: FixContext,
  io: StepIO,
  name: string,
  publicIpId: string,
  location: string,
): Promise<Made> {
  const { network } = context.clients;
  const { resourceGroup } = context.target;
  const { resource, isNew } = await ensure(io, {
    kind: 'nat-gateway',
    name,
    resourceId: armId(context, 'Microsoft.Network', `natGateways/${name}`),
    get: () => network.natGateways.get(resourceGroup, name),
    create: () => network.natGateways.beginCreateOrUpdateAndWait(resourceGroup, name, {
      location,
      tags: creationTags(io.journal),
      sku: { name: 'Standard' },
      idleTimeoutInMinutes: 4,
      publicIpAddresses: [{ id: publicIpId }],
    }, pollOptions(context)),
  });
  return { id: requireId(resource.id, name), isNew };
}

async function ensureSecurityGroup(context: FixContext, io: StepIO, name: string): Promise<Made> {
  const { network } = context.clients;
  const { resourceGroup } = context.target;
  const { resource, isNew } = await ensure(io, {
    kind: 'network-security-group',
    name,
    resourceId: armId(context, 'Microsoft.Network', `networkSecurityGroups/${name}`),
    get: () => network.networkSecurityGroups.get(resourceGroup, name),
    // No rules of ours: Azure's defaults deny inbound from the internet and allow outbound.
    create: () => network.networkSecurityGroups.beginCreateOrUpdateAndWait(resourceGroup, name, {
      location: locationOf(context),
      tags: creationTags(io.journal),
      securityRules: [],
    }, pollOptions(context)),
  });
  return { id: requireId(resource.id, name), isNew };
}

async function ensureVirtualNetwork(
  context: FixContext,
  io: StepIO,
  names: NetworkNames,
  natGatewayId: string,
  securityGroupId: string,
): Promise<Made> {
  const { network } = context.clients;
  const { resourceGroup } = context.target;
  const name = names.virtualNetwork;
  const { resource, isNew } = await ensure(io, {
    kind: 'virtual-network',
    name,
    resourceId: armId(context, 'Microsoft.Network', `virtualNetworks/${name}`),
    get: () => network.virtualNetworks.get(resourceGroup, name),
    create: () => network.virtualNetworks.beginCreateOrUpdateAndWait(resourceGroup, name, {
      location: locationOf(context),
      tags: creationTags(io.journal),
      addressSpace: { addressPrefixes: [NEW_NETWORK.addressSpace] },
      subnets: [privateSubnet(names.subnet, natGatewayId, securityGroupId)],
    }, pollOptions(context)),
  });
  return { id: requireId(resource.id, name), isNew };
}

/** A subnet with no default outbound access whose egress is the NAT gateway. */
function privateSubnet(name: string, natGatewayId: string, securityGroupId: string): Subnet {
  return {
    name,
    addressPrefix: NEW_NETWORK.subnetPrefix,
    defaultOutboundAccess: false,
    natGateway: { id: natGatewayId },
    networkSecurityGroup: { id: securityGroupId },
  };
}

/** Makes sure the subnet exists and routes egress through the NAT gateway (repairs drift). */
async function ensureSubnetEgress(
  context: FixContext,
  io: StepIO,
  names: NetworkNames,
  natGatewayId: string,
  securityGroupId: string,
): Promise<{ id: string; isUpdated: boolean }> {
  const { network } = context.clients;
  const { resourceGroup } = context.target;
  const current = await readSubnet(context, names.virtualNetwork, names.subnet);
  if (current?.id && current.natGateway?.id && current.defaultOutboundAccess === false) {
    return { id: current.id, isUpdated: false };
  }

  // An existing subnet keeps its address range and its own NSG; it gains the NAT gateway.
  const wanted: Subnet = {
    ...current,
    ...privateSubnet(names.subnet, natGatewayId, securityGroupId),
    addressPrefix: current?.addressPrefix ?? NEW_NETWORK.subnetPrefix,
    networkSecurityGroup: current?.networkSecurityGroup ?? { id: securityGroupId },
  };
  const intent = {
    action: current ? 'update' as const : 'create' as const,
    kind: 'subnet' as const,
    name: `${names.virtualNetwork}/${names.subnet}`,
    resourceId: armId(context, 'Microsoft.Network',
      `virtualNetworks/${names.virtualNetwork}/subnets/${names.subnet}`),
  };
  io.progress(`attaching NAT gateway to subnet ${names.subnet}`);
  const subnet = await journaled(io.journal, intent, 'update subnet', () =>
    network.subnets.beginCreateOrUpdateAndWait(resourceGroup, names.virtualNetwork,
      names.subnet, wanted, pollOptions(context)),
  );
  return { id: requireId(subnet.id, names.subnet), isUpdated: true };
}

async function readSubnet(
  context: FixContext,
  vnetName: string,
  subnetName: string,
  resourceGroup = context.target.resourceGroup,
): Promise<Subnet | undefined> {
  try {
    return await context.clients.network.subnets.get(resourceGroup, vnetName, subnetName);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw asDoctorError(error, 'read subnet', subnetName);
  }
}

/** F17 on a reused VM: give its subnet a NAT gateway, or its NIC a Standard public IP. */
async function addEgressToVm(
  context: FixContext,
  io: StepIO,
  egress: 'nat-gateway' | 'public-ip',
): Promise<StepOutcome> {
  const vmName = context.decisions.host.vmName;
  const { vm, nic, subnet } = await readVmNetwork(context, vmName);
  context.produced.subnetId = subnet.id;
  if (hasEgress(egressFacts(subnet, nic))) {
    return { status: 'succeeded', summary: `${vmName} already has outbound access` };
  }

  const names = networkNames(vmName);
  const publicIp = await ensurePublicIp(context, io, names.publicIp, vm.location);
  if (egress === 'public-ip') {
    await attachPublicIp(context, io, nic, publicIp.id);
    return { status: 'succeeded', summary: `Standard public IP on ${nic.name}; no inbound rules` };
  }

  const natGateway = await ensureNatGateway(context, io, names.natGateway, publicIp.id,
    vm.location);
  await attachNatGateway(context, io, subnet, natGateway.id);
  return { status: 'succeeded',
    summary: `NAT gateway on subnet ${subnet.name}; no inbound rules` };
}

/** The VM's primary NIC and its subnet. */
export async function readVmNetwork(
  context: FixContext,
  vmName: string,
): Promise<{ vm: VirtualMachine; nic: NetworkInterface; subnet: Subnet }> {
  const { compute, network } = context.clients;
  const vm = await compute.virtualMachines.get(context.target.resourceGroup, vmName)
    .catch((error: unknown) => {
      throw asDoctorError(error, 'read the virtual machine', vmName);
    });

  const nicRef = vm.networkProfile?.networkInterfaces?.find((item) => item.primary !== false);
  const nicId = requireId(nicRef?.id, `${vmName} network interface`);
  const nicParts = parseArmId(nicId);
  const nic = await network.networkInterfaces.get(nicParts.resourceGroup, nicParts.name)
    .catch((error: unknown) => { throw asDoctorError(error, 'read network interface', nicId); });

  const subnetId = requireId(nic.ipConfigurations?.[0]?.subnet?.id, `${nicParts.name} subnet`);
  const subnetParts = parseArmId(subnetId);
  const subnet = await readSubnet(context, subnetParts.parentName ?? '', subnetParts.name,
    subnetParts.resourceGroup);
  if (!subnet) throw missing(`subnet ${subnetId}`);
  return { vm, nic, subnet };
}

async function attachPublicIp(
  context: FixContext,
  io: StepIO,
  nic: NetworkInterface,
  publicIpId: string,
): Promise<void> {
  const parts = parseArmId(requireId(nic.id, 'network interface'));
  const [first, ...rest] = nic.ipConfigurations ?? [];
  const wanted: NetworkInterface = {
    ...nic,
    ipConfigurations: [{ ...first, publicIPAddress: { id: publicIpId } }, ...rest],
  };
  const intent = { action: 'update' as const, kind: 'network-interface' as const,
    name: parts.name, resourceId: nic.id ?? '' };
  io.progress(`attaching public IP to ${parts.name}`);
  await journaled(io.journal, intent, 'attach public IP', () =>
    context.clients.network.networkInterfaces.beginCreateOrUpdateAndWait(
      parts.resourceGroup, parts.name, wanted, pollOptions(context)),
  );
}

async function attachNatGateway(
  context: FixContext,
  io: StepIO,
  subnet: Subnet,
  natGatewayId: string,
): Promise<void> {
  const parts = parseArmId(requireId(subnet.id, 'subnet'));
  const wanted: Subnet = { ...subnet, natGateway: { id: natGatewayId } };
  const intent = { action: 'update' as const, kind: 'subnet' as const,
    name: `${parts.parentName}/${parts.name}`, resourceId: subnet.id ?? '' };
  io.progress(`attaching NAT gateway to subnet ${parts.name}`);
  await journaled(io.journal, intent, 'attach NAT gateway', () =>
    context.clients.network.subnets.beginCreateOrUpdateAndWait(
      parts.resourceGroup, parts.parentName ?? '', parts.name, wanted, pollOptions(context)),
  );
}

/** Reads a VM, or undefined when it does not exist. */
export async function findVm(
  clients: AzureClients,
  target: Target,
  vmName: string,
): Promise<VirtualMachine | undefined> {
  try {
    return await clients.compute.virtualMachines.get(target.resourceGroup, vmName);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw asDoctorError(error, 'read the virtual machine', vmName);
  }
}

/** Where new resources go: the workspace's region. */
export function locationOf(context: FixContext): string {
  return context.inventory.workspace.location;
}

export function pollOptions(context: FixContext): { updateIntervalInMs: number } {
  return { updateIntervalInMs: tuningOf(context).pollIntervalMs };
}

function requireId(id: string | undefined, what: string): string {
  if (!id) throw missing(what);

  return id;
}

function missing(what: string): DoctorError {
  return new DoctorError({
    code: 'resource-incomplete',
    what: `Azure returned no id for ${what}.`,
    fix: 'Check the resource in the Azure portal, then run shir-doctor again.',
  });
}
