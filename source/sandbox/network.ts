/**
 * Microsoft.Network: virtual networks (subnets embedded in replies, as ARM does), subnets, NSGs,
 * NAT gateways, public IPs and NICs, all provisioned through asynchronous operations.
 *
 * Policy facts the emulator keeps: a subnet created through API 2025-07-01 or later has no
 * default outbound access unless the body says otherwise; Basic public IPs are retired; replies
 * carry the back-references (a subnet's ipConfigurations, a NIC's virtualMachine, a NAT
 * gateway's subnets) that let a client discover how a VM reaches the internet.
 */
import type { ArmResources } from './arm.js';
import { HttpFail, type Ctx, idKey } from './http.js';
import type { ArmResource } from './scenario.js';
import type { World } from './world.js';

const NET = 'Microsoft.Network';
const TYPES = {
  vnet: `${NET}/virtualNetworks`,
  subnet: `${NET}/virtualNetworks/subnets`,
  nsg: `${NET}/networkSecurityGroups`,
  nat: `${NET}/natGateways`,
  pip: `${NET}/publicIPAddresses`,
  nic: `${NET}/networkInterfaces`,
};

/** Registers the network kinds. */
export function network(world: World, arm: ArmResources): void {
  const base = { put: 'async', delete: 'async', listBySubscription: true } as const;
  arm.register({ ...base, type: TYPES.vnet, tracked: true, durationMs: 1500,
    accept: (ctx, next, existing) => acceptVnet(world, arm, ctx, next, existing),
    present: (ctx, copy) => presentVnet(world, arm, ctx, copy),
    beforeDelete: (_ctx, stored) => {
      for (const subnet of world.list(stored.id, TYPES.subnet)) {
        refuseInUse(world, subnet, 'InUseSubnetCannotBeDeleted');
      }
    } });
  arm.register({ ...base, type: TYPES.subnet, tracked: false, listBySubscription: false,
    durationMs: 1000,
    accept: (ctx, next) => acceptSubnet(world, ctx, next),
    present: (_ctx, copy) => presentSubnet(world, copy),
    beforeDelete: (_ctx, stored) => refuseInUse(world, stored, 'InUseSubnetCannotBeDeleted') });
  arm.register({ ...base, type: TYPES.nsg, tracked: true, durationMs: 800,
    present: (_ctx, copy) => presentNsg(copy),
    beforeDelete: (_ctx, stored) => refuseReferenced(world, stored, 'InUseNetworkSecurityGroup',
      [TYPES.subnet, TYPES.nic]) });
  arm.register({ ...base, type: TYPES.nat, tracked: true, durationMs: 1500,
    accept: (_ctx, next) => acceptNat(world, next),
    present: (_ctx, copy) => presentNat(world, copy),
    beforeDelete: (_ctx, stored) => refuseReferenced(world, stored,
      'InUseNatGatewayCannotBeDeleted', [TYPES.subnet]) });
  arm.register({ ...base, type: TYPES.pip, tracked: true, durationMs: 1000,
    accept: (_ctx, next, existing) => acceptPublicIp(next, existing),
    beforeDelete: (_ctx, stored) => refuseReferenced(world, stored, 'PublicIPAddressInUse',
      [TYPES.nat, TYPES.nic]) });
  arm.register({ ...base, type: TYPES.nic, tracked: true, durationMs: 1000,
    accept: (_ctx, next) => acceptNic(world, next),
    present: (_ctx, copy) => presentNic(world, copy),
    beforeDelete: (_ctx, stored) => refuseNicInUse(world, stored) });
}

/** Whether a reference `{id}` points at a stored resource. */
function refersToExisting(world: World, ref: { id?: string } | undefined): boolean {
  return !!ref?.id && world.get(ref.id) !== undefined;
}

function requireRef(world: World, ref: { id?: string } | undefined, what: string): void {
  if (ref?.id && !world.get(ref.id)) {
    throw new HttpFail(400, 'InvalidResourceReference',
      `Resource ${ref.id} referenced by ${what} was not found.`);
  }
}

function acceptVnet(world: World, arm: ArmResources, ctx: Ctx, next: ArmResource,
  existing: ArmResource | undefined): ArmResource {
  const subnets = next.properties?.subnets as ArmResource[] | undefined;
  delete next.properties?.subnets;
  if (!Array.isArray(subnets)) return next;

  const wanted = new Set(subnets.map((s) => idKey(`${next.id}/subnets/${s.name}`)));
  if (existing) {
    for (const old of world.list(next.id, TYPES.subnet)) {
      if (wanted.has(idKey(old.id))) continue;
      refuseInUse(world, old, 'InUseSubnetCannotBeDeleted');
      world.remove(old.id);
    }
  }
  for (const s of subnets) {
    const subnet: ArmResource = { ...s, id: `${next.id}/subnets/${s.name}`, name: s.name,
      type: TYPES.subnet, properties: { ...s.properties } };
    const stored = acceptSubnet(world, ctx, subnet);
    stored.properties = { ...stored.properties, provisioningState: 'Succeeded' };
    world.put(stored);
  }
  return next;
}

function presentVnet(world: World, arm: ArmResources, ctx: Ctx, copy: ArmResource)
  : ArmResource {
  copy.properties = { ...copy.properties,
    subnets: world.list(copy.id, TYPES.subnet).map((s) => arm.present(ctx, s)) };
  copy.properties.resourceGuid ??= idKey(copy.id).length.toString(16).padStart(8, '0') +
    '-1b2c-4d3e-8f4a-5b6c7d8e9f00';
  return copy;
}

function newSubnetsArePrivate(ctx: Ctx): boolean {
  return (ctx.query.get('api-version') ?? '') >= '2025-07-01';
}

function acceptSubnet(world: World, ctx: Ctx, next: ArmResource): ArmResource {
  const props = (next.properties ??= {});
  if (!props.addressPrefix && !props.addressPrefixes) {
    throw new HttpFail(400, 'InvalidRequestFormat', 'Subnet addressPrefix is required.');
  }
  requireRef(world, props.natGateway, `subnet ${next.name}`);
  requireRef(world, props.networkSecurityGroup, `subnet ${next.name}`);
  if (props.defaultOutboundAccess === undefined) {
    const existing = world.get(next.id);
    props.defaultOutboundAccess = existing?.properties?.defaultOutboundAccess ??
      !newSubnetsArePrivate(ctx);
  }
  delete next.location;
  return next;
}

function nicsOnSubnet(world: World, subnetId: string): ArmResource[] {
  return Object.values(world.state.resources).filter((r) =>
    r.type === TYPES.nic &&
    (r.properties?.ipConfigurations ?? []).some((c: any) =>
      c?.properties?.subnet?.id && idKey(c.properties.subnet.id) === idKey(subnetId)));
}

function presentSubnet(world: World, copy: ArmResource): ArmResource {
  const configs = nicsOnSubnet(world, copy.id).flatMap((nic) =>
    (nic.properties?.ipConfigurations ?? []).map((c: any) => ({
      id: `${nic.id}/ipConfigurations/${c.name}`,
    })));
  if (configs.length > 0) copy.properties = { ...copy.properties, ipConfigurations: configs };
  delete copy.location;
  return copy;
}

function refuseInUse(world: World, subnet: ArmResource, code: string): void {
  const nics = nicsOnSubnet(world, subnet.id);
  if (nics.length > 0) {
    throw new HttpFail(400, code,
      `Subnet ${subnet.name} is in use by ${nics[0].id} and cannot be deleted.`);
  }
}

/** Refuses to delete `target` while a resource of `holderTypes` still refers to its id. */
function refuseReferenced(world: World, target: ArmResource, code: string,
  holderTypes: string[]): void {
  const needle = `"${idKey(target.id)}"`;
  const types = holderTypes.map((t) => t.toLowerCase());
  const holder = Object.values(world.state.resources).find((r) =>
    types.includes(r.type.toLowerCase()) &&
    JSON.stringify(r.properties ?? {}).toLowerCase().includes(needle));
  if (holder) {
    throw new HttpFail(400, code,
      `${target.name} is in use by ${holder.id} and cannot be deleted. Remove the reference ` +
      'first.');
  }
}

function presentNsg(copy: ArmResource): ArmResource {
  const rule = (name: string, direction: string, access: string, priority: number,
    source: string, destination: string) => ({
    name,
    id: `${copy.id}/defaultSecurityRules/${name}`,
    type: `${TYPES.nsg}/defaultSecurityRules`,
    properties: { protocol: '*', sourcePortRange: '*', destinationPortRange: '*',
      sourceAddressPrefix: source, destinationAddressPrefix: destination, access, priority,
      direction, provisioningState: 'Succeeded' },
  });
  copy.properties = {
    securityRules: [],
    ...copy.properties,
    defaultSecurityRules: [
      rule('AllowVnetInBound', 'Inbound', 'Allow', 65000, 'VirtualNetwork', 'VirtualNetwork'),
      rule('AllowAzureLoadBalancerInBound', 'Inbound', 'Allow', 65001, 'AzureLoadBalancer', '*'),
      rule('DenyAllInBound', 'Inbound', 'Deny', 65500, '*', '*'),
      rule('AllowVnetOutBound', 'Outbound', 'Allow', 65000, 'VirtualNetwork', 'VirtualNetwork'),
      rule('AllowInternetOutBound', 'Outbound', 'Allow', 65001, '*', 'Internet'),
      rule('DenyAllOutBound', 'Outbound', 'Deny', 65500, '*', '*'),
    ],
  };
  return copy;
}

function acceptNat(world: World, next: ArmResource): ArmResource {
  next.sku ??= { name: 'Standard' };
  for (const ref of next.properties?.publicIpAddresses ?? []) {
    requireRef(world, ref, `NAT gateway ${next.name}`);
  }
  next.properties = { idleTimeoutInMinutes: 4, ...next.properties };
  return next;
}

function presentNat(world: World, copy: ArmResource): ArmResource {
  const subnets = Object.values(world.state.resources).filter((r) =>
    r.type === TYPES.subnet && r.properties?.natGateway?.id &&
    idKey(r.properties.natGateway.id) === idKey(copy.id));
  if (subnets.length > 0) {
    copy.properties = { ...copy.properties, subnets: subnets.map((s) => ({ id: s.id })) };
  }
  return copy;
}

function acceptPublicIp(next: ArmResource, existing: ArmResource | undefined): ArmResource {
  const sku = (next.sku as { name?: string } | undefined)?.name ?? 'Standard';
  if (sku.toLowerCase() === 'basic') {
    throw new HttpFail(400, 'BasicSkuPublicIpIsRetired',
      'Basic SKU public IP addresses are retired. Create a Standard SKU public IP instead.');
  }
  next.sku = { name: 'Standard', tier: 'Regional' };
  const octet = (idKey(next.id).length * 7) % 250 + 1;
  next.properties = {
    publicIPAddressVersion: 'IPv4',
    idleTimeoutInMinutes: 4,
    ...next.properties,
    publicIPAllocationMethod: 'Static',
    ipAddress: existing?.properties?.ipAddress ?? `20.61.${octet}.${(octet * 3) % 250 + 1}`,
  };
  return next;
}

function acceptNic(world: World, next: ArmResource): ArmResource {
  const configs = next.properties?.ipConfigurations as any[] | undefined;
  if (!Array.isArray(configs) || configs.length === 0) {
    throw new HttpFail(400, 'InvalidRequestFormat',
      'A network interface needs at least one IP configuration.');
  }
  configs.forEach((c, i) => {
    const props = (c.properties ??= {});
    if (!refersToExisting(world, props.subnet)) {
      throw new HttpFail(400, 'InvalidResourceReference',
        `Subnet ${props.subnet?.id ?? '(none)'} referenced by ${next.name} was not found.`);
    }
    requireRef(world, props.publicIPAddress, `network interface ${next.name}`);
    c.name ??= `ipconfig${i + 1}`;
    props.privateIPAllocationMethod ??= 'Dynamic';
    props.privateIPAddress ??= `10.0.0.${4 + i + (idKey(next.id).length % 200)}`;
    props.primary ??= i === 0;
  });
  requireRef(world, next.properties?.networkSecurityGroup, `network interface ${next.name}`);
  return next;
}

function vmsUsingNic(world: World, nicId: string): ArmResource[] {
  return Object.values(world.state.resources).filter((r) =>
    r.type === 'Microsoft.Compute/virtualMachines' &&
    (r.properties?.networkProfile?.networkInterfaces ?? []).some((n: any) =>
      n?.id && idKey(n.id) === idKey(nicId)));
}

function presentNic(world: World, copy: ArmResource): ArmResource {
  const vm = vmsUsingNic(world, copy.id)[0];
  copy.properties = { ...copy.properties };
  copy.properties.ipConfigurations = (copy.properties.ipConfigurations ?? []).map((c: any) => ({
    ...c, id: `${copy.id}/ipConfigurations/${c.name}`,
    type: `${TYPES.nic}/ipConfigurations`,
  }));
  if (vm) copy.properties.virtualMachine = { id: vm.id };
  return copy;
}

function refuseNicInUse(world: World, nic: ArmResource): void {
  const vm = vmsUsingNic(world, nic.id)[0];
  if (vm) {
    throw new HttpFail(400, 'NicInUse',
      `Network Interface ${nic.id} is used by existing resource ${vm.id}. In order to delete ` +
      'the network interface, it must be dissociated from the resource.');
  }
}
