/**
 * How a VM in the world reaches the internet, decided from its network resources the way Azure
 * does: a Standard public IP on its NIC, or a NAT gateway on its subnet, or the subnet's default
 * outbound access; an NSG rule that denies outbound 443 before any allow blocks all of them.
 * Then, per host: the scenario's proxy, unresolvable, blocked and TLS-inspected hosts,
 * Microsoft's hosts (always resolvable), the scenario's `internet` hosts, and DNS failure for
 * anything else.
 */
import type { ProbeResult } from '../wire/guest.js';
import { idKey } from './http.js';
import type { ArmResource } from './scenario.js';
import type { World } from './world.js';

/** Whether a VM has outbound internet access, and why. */
export interface EgressVerdict {
  hasEgress: boolean;
  /** `public-ip`, `nat-gateway` or `default-outbound` when it has egress. */
  via?: string;
  /** One line for humans: what gives or blocks egress. */
  reason: string;
}

const MICROSOFT_HOSTS = new RegExp('(^|\\.)(microsoft\\.com|windows\\.net|azure\\.net|' +
  'azure\\.com|clouddatahub\\.net|microsoftonline\\.com|azuresynapse\\.net|msftauth\\.net)$', 'i');

/** Decides whether the VM `vmId` has outbound internet access. */
export function vmEgress(world: World, vmId: string): EgressVerdict {
  const vm = world.get(vmId);
  if (!vm) return { hasEgress: false, reason: 'the VM does not exist' };
  const nicRef = (vm.properties?.networkProfile?.networkInterfaces ?? [])[0];
  const nic = nicRef?.id ? world.get(nicRef.id) : undefined;
  if (!nic) return { hasEgress: false, reason: 'the VM has no network interface' };

  const config = (nic.properties?.ipConfigurations ?? [])[0]?.properties ?? {};
  const subnet = config.subnet?.id ? world.get(config.subnet.id) : undefined;
  const denied = denyingRule(world, nic) ?? (subnet && denyingRule(world, subnet));
  if (denied) return { hasEgress: false, reason: denied };

  if (config.publicIPAddress?.id && world.get(config.publicIPAddress.id)) {
    return { hasEgress: true, via: 'public-ip', reason: 'the NIC has a Standard public IP' };
  }
  if (!subnet) return { hasEgress: false, reason: 'the NIC has no subnet' };
  const nat = subnet.properties?.natGateway?.id;
  if (nat && world.get(nat)) {
    return { hasEgress: true, via: 'nat-gateway',
      reason: `subnet ${subnet.name} has a NAT gateway` };
  }
  if (subnet.properties?.defaultOutboundAccess !== false) {
    return { hasEgress: true, via: 'default-outbound',
      reason: `subnet ${subnet.name} has default outbound access` };
  }
  return { hasEgress: false, reason: `subnet ${subnet.name} has defaultOutboundAccess false ` +
    'and no NAT gateway or public IP' };
}

/** The outcome of one outbound connection from a VM to `host`. */
export function reachHost(world: World, vmId: string | undefined, host: string,
  proxyUrl?: string): ProbeResult {
  if (vmId) {
    const verdict = vmEgress(world, vmId);
    if (!verdict.hasEgress) return 'tcp-failed';
  }
  const net = world.scenario.network ?? {};
  if (net.proxyRequired && !proxyUrl) return 'proxy-required';
  if ((net.unresolvableHosts ?? []).some((p) => hostMatches(p, host))) return 'dns-failed';
  if ((net.blockedHosts ?? []).some((p) => hostMatches(p, host))) return 'tcp-failed';
  if ((net.tlsInspectedHosts ?? []).some((p) => hostMatches(p, host))) return 'tls-failed';
  if (MICROSOFT_HOSTS.test(host)) return 'ok';
  return isInternetHost(world, host) ? 'ok' : 'dns-failed';
}

/** Whether the scenario's internet has `host`. */
export function isInternetHost(world: World, host: string): boolean {
  return Object.keys(world.scenario.internet ?? {}).some((h) => h.toLowerCase() ===
    host.toLowerCase());
}

/** Matches `*.servicebus.windows.net` style patterns. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  return p.startsWith('*.') ? h.endsWith(p.slice(1)) : p === h;
}

function denyingRule(world: World, holder: ArmResource): string | undefined {
  const nsgId = holder.properties?.networkSecurityGroup?.id;
  const nsg = nsgId ? world.get(nsgId) : undefined;
  if (!nsg) return undefined;
  const rules = ((nsg.properties?.securityRules ?? []) as any[])
    .filter((r) => r?.properties?.direction === 'Outbound' && coversHttps(r.properties))
    .sort((a, b) => a.properties.priority - b.properties.priority);
  const first = rules[0];
  if (first?.properties?.access !== 'Deny') return undefined;
  return `NSG ${nsg.name} rule ${first.name} denies outbound 443 (on ${idKey(holder.id)
    .split('/').slice(-2).join('/')})`;
}

function coversHttps(p: Record<string, any>): boolean {
  const dest = String(p.destinationAddressPrefix ?? '*');
  const ports = [p.destinationPortRange, ...(p.destinationPortRanges ?? [])].filter(Boolean)
    .map(String);
  const portOk = ports.length === 0 || ports.some((r) => r === '*' || r === '443' ||
    (r.includes('-') && Number(r.split('-')[0]) <= 443 && Number(r.split('-')[1]) >= 443));
  return portOk && (dest === '*' || dest.toLowerCase() === 'internet' || dest === '0.0.0.0/0');
}
