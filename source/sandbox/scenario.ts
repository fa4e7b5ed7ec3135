/**
 * Scenario files: the starting world of the sandbox, one JSON file per field situation
 * (scenarios/F01.json ... F20.json, and lettered variants such as F10b.json).
 *
 * Format (every key but `id`, `identity` and `target` is optional):
 * - `id`, `description`: the scenario's name (F01..) and one line saying what it models.
 * - `identity`: `{tenantId, clientId, clientSecret}` of the service principal the sandbox's Entra
 *   ID accepts (client credentials).
 * - `target`: `{subscriptionId, resourceGroup, workspaceName, location}`, the tool's default.
 * - `resources`: ARM resource bodies exactly as ARM returns them (`id`, `name`, `type`,
 *   `location`, `properties`...): workspaces, integration runtimes, VNets (with or without
 *   `properties.subnets`), subnets, NICs, public IPs, NAT gateways, NSGs, VMs. Server-computed
 *   fields (`connectivityEndpoints.dev`, `provisioningState`) are filled in when missing.
 * - `workspaces`: `{ "<workspace>": { linkedServices: [{name, properties}], pipelines:
 *   [{name, properties}] } }`: the dev endpoint artifacts, with SecureString secrets in clear
 *   (the sandbox masks them on GET; `adminSecrets` exposes them to the test user).
 * - `runtimes`: `{ "<workspace>/<runtime>": RuntimeSeed }`: the service-side state of
 *   self-hosted runtimes (nodes, versions) that ARM bodies do not carry.
 * - `guests`: `{ "<vmName>": GuestSeed }`: what is inside existing VMs; `newVmGuest`: the
 *   GuestSeed for VMs the tool creates.
 * - `internet`: `{ "<host>": {latencyMs?, status?} }`: external hosts that exist; they resolve to
 *   the sandbox's local partner API. Any other non-Microsoft host fails as a DNS error.
 * - `network`: `{proxyRequired?, blockedHosts?: ["*.servicebus.windows.net"],
 *   tlsInspectedHosts?, unresolvableHosts?}`: what a VM's outbound path enforces.
 * - `faults`: fault rules (see faults.ts) active from the start; `throttle`: `{writes,
 *   windowMs, retryAfter?}`, a write-rate limit answered with 429 (see faults.ts).
 * - `extends`: another scenario (an id like `F01`, or a path relative to this file) this one
 *   varies. Its content is merged in: resources by id and artifacts by name are merged deeply
 *   (objects merge, arrays and scalars replace,
 *   `null` deletes a key; an artifact whose `properties` is set to `null` is removed), maps
 *   (`runtimes`, `guests`, `internet`, `network`) merge by key, `faults` concatenate, everything
 *   else replaces.
 *
 * Strings may use `{subscriptionId}`, `{resourceGroup}`, `{workspaceName}` and `{location}`;
 * they are replaced with the target's values after merging, when the file is loaded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FaultRule, ThrottleRule } from './faults.js';

/** An ARM resource body as stored and returned. */
export interface ArmResource {
  id: string;
  name: string;
  type: string;
  location?: string;
  tags?: Record<string, string>;
  etag?: string;
  properties?: Record<string, any>;
  [key: string]: unknown;
}

/** A dev endpoint artifact (linked service or pipeline) as written in a scenario. */
export interface ArtifactSeed {
  name: string;
  properties: Record<string, any>;
}

/** A self-hosted runtime node as the service knows it. */
export interface NodeSeed {
  nodeName: string;
  machineName?: string;
  /** `Online`, `Offline`, `Limited`, `NeedRegistration`, `Upgrading`... */
  status: string;
  version?: string;
  /** Node capability overrides, e.g. `{serviceBusConnected: "False"}` (F07). */
  capabilities?: Record<string, string>;
  /** The VM name hosting this node, when it is a VM in the world. */
  vmName?: string;
}

/** Service-side state of one self-hosted runtime. */
export interface RuntimeSeed {
  nodes?: NodeSeed[];
  version?: string;
  latestVersion?: string;
  versionStatus?: string;
  autoUpdate?: 'On' | 'Off';
}

/** What is inside a VM, and how the guest misbehaves. */
export interface GuestSeed {
  /** `legacy` images do not negotiate TLS 1.2 unless a script forces it (F09). */
  image?: 'current' | 'legacy';
  /** An installed runtime, registered to `<workspace>/<runtime>` (F06). */
  runtime?: { registeredTo: string; nodeName: string; version?: string; proxyUrl?: string };
  /** The MSI answers 1618 this many times before it succeeds (F10). */
  msiBusyTimes?: number;
  /** Registration reports success but the node never appears (F11). */
  registrationStalls?: boolean;
  /** DIAHostService fails to start after registration. */
  serviceFailsToStart?: boolean;
  /**
   * The install echoes the registration command line, auth key included, on stdout and stderr,
   * as a verbose transcript would (F13: the product must redact script output and errors).
   */
  echoesAuthKey?: boolean;
}

/** Network behaviour outside the VMs. */
export interface NetworkSeed {
  /** Egress works only through a proxy given as ProxyUrl (F19). */
  proxyRequired?: boolean;
  /** Host patterns (`*.servicebus.windows.net`) that VMs cannot reach (F07). */
  blockedHosts?: string[];
  /** Host patterns whose TLS a firewall intercepts with a certificate VMs do not trust. */
  tlsInspectedHosts?: string[];
  /** Host patterns the VMs' DNS server cannot resolve. */
  unresolvableHosts?: string[];
}

/** An external host of the simulated internet. */
export interface InternetHost {
  /** Delay before the partner API answers, in milliseconds at timeScale 1 (F18). */
  latencyMs?: number;
}

/** A whole scenario file. */
export interface Scenario {
  id: string;
  extends?: string;
  description?: string;
  identity: { tenantId: string; clientId: string; clientSecret: string };
  target: {
    subscriptionId: string;
    resourceGroup: string;
    workspaceName: string;
    location: string;
  };
  resources?: ArmResource[];
  workspaces?: Record<string, { linkedServices?: ArtifactSeed[]; pipelines?: ArtifactSeed[] }>;
  runtimes?: Record<string, RuntimeSeed>;
  guests?: Record<string, GuestSeed>;
  newVmGuest?: GuestSeed;
  internet?: Record<string, InternetHost>;
  network?: NetworkSeed;
  faults?: FaultRule[];
  throttle?: ThrottleRule;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The folder of the built-in scenarios (same depth from source/ and dist/). */
export const SCENARIO_DIR = resolve(here, '..', '..', 'scenarios');

/** A scenario that cannot be found, read or used; its message names the file and the fault. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

/** Resolves a scenario id (`F01`) or file path, reads it and fills the placeholders. */
export function loadScenario(idOrPath = 'F01'): Scenario {
  const merged = mergedOrError(idOrPath);
  checkShape(merged, idOrPath);
  return fillPlaceholders(merged, merged.target);
}

function mergedOrError(idOrPath: string): Scenario {
  try {
    return readMerged(idOrPath, 0);
  } catch (error) {
    if (error instanceof ScenarioError) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new ScenarioError(`sandbox scenario ${idOrPath} cannot extend its base: ${why}`);
  }
}

function scenarioFile(idOrPath: string): string {
  const file = isBuiltIn(idOrPath)
    ? join(SCENARIO_DIR, `F${idOrPath.slice(1, 3)}${idOrPath.slice(3).toLowerCase()}.json`)
    : resolve(idOrPath);
  if (!existsSync(file)) throw new ScenarioError(`sandbox scenario not found: ${file}`);
  return file;
}

function readMerged(idOrPath: string, depth: number): Scenario {
  if (depth > 5) throw new ScenarioError(`sandbox scenario ${idOrPath}: extends nests too deep`);
  const file = scenarioFile(idOrPath);
  const raw = readObject(file) as unknown as Scenario;
  const fault = containerFault(raw);
  if (fault) throw new ScenarioError(`sandbox scenario ${file}: ${fault}`);
  if (!raw.extends) return raw;
  const base = isBuiltIn(raw.extends) ? raw.extends : resolve(dirname(file), raw.extends);
  return mergeScenario(readMerged(base, depth + 1), raw);
}

function readObject(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ScenarioError(`sandbox scenario ${file} is not valid JSON: ${why}`);
  }
  if (!isPlainObject(parsed)) {
    throw new ScenarioError(`sandbox scenario ${file} must be a JSON object`);
  }
  return parsed;
}

const STRING_FIELDS = {
  identity: ['tenantId', 'clientId', 'clientSecret'],
  target: ['subscriptionId', 'resourceGroup', 'workspaceName', 'location'],
} as const;

/** Throws a ScenarioError naming the first field whose shape the sandbox cannot use. */
function checkShape(scenario: Scenario, idOrPath: string): void {
  const fault = shapeFault(scenario);
  if (fault) throw new ScenarioError(`sandbox scenario ${idOrPath}: ${fault}`);
}

function shapeFault(scenario: Scenario): string | undefined {
  if (typeof scenario.id !== 'string') return '"id" must be a string';
  for (const [key, fields] of Object.entries(STRING_FIELDS)) {
    const value = (scenario as any)[key];
    const missing = fields.find((field) => typeof value?.[field] !== 'string');
    if (missing) return `"${key}.${missing}" must be a string`;
  }
  return containerFault(scenario);
}

/** The faults a single file can have on its own (a variation may leave out id and target). */
function containerFault(scenario: Scenario): string | undefined {
  const resources = scenario.resources ?? [];
  if (!Array.isArray(resources)) return '"resources" must be an array';
  // A variation may patch a base resource by id alone.
  const fields = scenario.extends === undefined ? ['id', 'name', 'type'] : ['id'];
  const bad = resources.findIndex((r) => !isPlainObject(r) ||
    fields.some((field) => typeof r[field] !== 'string'));
  const names = fields.map((field) => `"${field}"`).join(', ');
  if (bad >= 0) return `"resources[${bad}]" needs string ${names}`;
  return mapsFault(scenario) ?? artifactsFault(scenario);
}

function mapsFault(scenario: Scenario): string | undefined {
  const maps = ['workspaces', 'runtimes', 'guests', 'internet', 'network'] as const;
  const map = maps.find((key) => scenario[key] !== undefined && !isPlainObject(scenario[key]));
  if (map) return `"${map}" must be an object`;
  if (scenario.faults !== undefined && !Array.isArray(scenario.faults)) {
    return '"faults" must be an array';
  }
  return undefined;
}

function artifactsFault(scenario: Scenario): string | undefined {
  for (const [name, content] of Object.entries(scenario.workspaces ?? {})) {
    for (const kind of ['linkedServices', 'pipelines'] as const) {
      const items: unknown = (content as any)?.[kind] ?? [];
      const isOk = Array.isArray(items) && items.every((item) => isPlainObject(item) &&
        typeof item.name === 'string' && (isPlainObject(item.properties) ||
          (item.properties === null && scenario.extends !== undefined)));
      if (!isOk) {
        return `"workspaces.${name}.${kind}" must be an array of {name, properties}`;
      }
    }
  }
  return undefined;
}

function isBuiltIn(id: string): boolean {
  return /^F\d\d[a-z]?$/i.test(id);
}

/** Merges a variation into its base scenario (see the module doc). */
export function mergeScenario(base: Scenario, child: Scenario): Scenario {
  const merged: Scenario = { ...base, ...child, extends: undefined };
  merged.resources = mergeBy(base.resources ?? [], child.resources ?? [],
    (r) => r.id.toLowerCase());
  merged.workspaces = { ...base.workspaces };
  for (const [name, content] of Object.entries(child.workspaces ?? {})) {
    const old = merged.workspaces[name] ?? {};
    merged.workspaces[name] = {
      linkedServices: mergeBy(old.linkedServices ?? [], content.linkedServices ?? [],
        (a) => a.name.toLowerCase()).filter((a) => a.properties),
      pipelines: mergeBy(old.pipelines ?? [], content.pipelines ?? [], (a) => a.name.toLowerCase())
        .filter((a) => a.properties),
    };
  }
  for (const key of ['runtimes', 'guests', 'internet', 'network'] as const) {
    (merged as any)[key] = { ...(base as any)[key], ...(child as any)[key] };
  }
  merged.faults = [...(base.faults ?? []), ...(child.faults ?? [])];
  return merged;
}

function mergeBy<T>(base: T[], child: T[], key: (item: T) => string): T[] {
  const out = base.map((item) => structuredClone(item));
  for (const item of child) {
    const at = out.findIndex((o) => key(o) === key(item));
    if (at >= 0) out[at] = deepMerge(out[at], item) as T;
    else out.push(structuredClone(item));
  }
  return out;
}

function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = deepMerge(out[k], v);
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fillPlaceholders<T>(value: T, target: Scenario['target']): T {
  const text = JSON.stringify(value).replace(
    /\{(subscriptionId|resourceGroup|workspaceName|location)\}/g,
    (_, key: keyof Scenario['target']) => target[key]);
  return JSON.parse(text) as T;
}
