/**
 * Where a connection's traffic leaves from, and what it needs: the classification policy.
 *
 * - `on-shir`: the connection already runs on a healthy self-hosted runtime (or on ours, which
 *   this session repairs).
 * - `azure-private-link`: the host is an Azure PaaS service that supports Private Link; a
 *   managed private endpoint is the better remedy, so shir-doctor leaves it alone.
 * - `external-api`: an internet host reached from the managed runtime, which a DEP-locked
 *   workspace cannot do: it needs the SHIR.
 * - `internal`: no host this tool can see (an expression, a parameter, a connector without URL).
 *
 * Pure functions only: they take wire-shaped JSON and the runtime inventory.
 */
import type { Classification, NodeView, RuntimeView, WebActivityView } from './context.js';
import { findWebActivities, getAt, isObject, propertiesOf } from './definitions.js';
import type { JsonObject } from './definitions.js';

/** Host suffixes of Azure services reachable through managed private endpoints. */
const PRIVATE_LINK_SUFFIXES = [
  '.blob.core.windows.net',
  '.dfs.core.windows.net',
  '.file.core.windows.net',
  '.queue.core.windows.net',
  '.table.core.windows.net',
  '.database.windows.net',
  '.sql.azuresynapse.net',
  '.vault.azure.net',
  '.documents.azure.com',
  '.search.windows.net',
  '.kusto.windows.net',
  '.azuredatabricks.net',
  '.mysql.database.azure.com',
  '.postgres.database.azure.com',
  '.mariadb.database.azure.com',
  '.azurewebsites.net',
  '.servicebus.windows.net',
  '.azure-api.net',
];

/** Linked service types that are Azure PaaS services with Private Link support. */
const PRIVATE_LINK_TYPES = new Set([
  'AzureBlobStorage', 'AzureBlobFS', 'AzureDataLakeStore', 'AzureFileStorage',
  'AzureTableStorage', 'AzureStorage', 'AzureSqlDatabase', 'AzureSqlDW', 'AzureSqlMI',
  'AzureKeyVault', 'CosmosDb', 'CosmosDbMongoDbApi', 'AzureSearch', 'AzureDataExplorer',
  'AzureMySql', 'AzurePostgreSql', 'AzureMariaDB', 'AzureDatabricks',
  'AzureDatabricksDeltaLake', 'AzureFunction',
]);

/** The runtime name shir-doctor creates when it needs a new one. */
export const DEFAULT_RUNTIME_NAME = 'shir-doctor-ir';

/** Names of the workspace's managed runtime family. */
const MANAGED_DEFAULT = 'AutoResolveIntegrationRuntime';

/** What classification needs to know about the workspace's runtimes. */
export interface RuntimeContext {
  runtimes: readonly RuntimeView[];
  /** The runtime this session installs or repairs (counts as a SHIR even while unhealthy). */
  ourRuntimeName: string;
  /** Tenants a managed private endpoint may reach: the workspace's own and the allowed ones. */
  tenants?: { home?: string; allowed: readonly string[] };
}

/** A classification with the facts behind it. */
export interface Verdict {
  classification: Classification;
  evidence: string[];
  /** The external host, when one was found. */
  host?: string;
}

/** A node can take jobs: Online, and no capability reported False (F07). */
export function isNodeHealthy(node: NodeView): boolean {
  return node.status === 'Online' &&
    !Object.values(node.capabilities).some((value) => value.toLowerCase() === 'false');
}

/** A runtime is healthy when it is Online with at least one healthy node. */
export function isRuntimeHealthy(runtime: RuntimeView): boolean {
  return runtime.state === 'Online' && runtime.nodes.some(isNodeHealthy);
}

/** The host of an http(s) URL, lower-cased; undefined for expressions and non-URLs. */
export function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string' || url.startsWith('@')) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:'
      ? parsed.hostname.toLowerCase()
      : undefined;
  } catch {
    return undefined;
  }
}

export function isPrivateLinkHost(host: string): boolean {
  return PRIVATE_LINK_SUFFIXES.some((suffix) => host.endsWith(suffix));
}

/** First URL-ish setting a linked service carries, as wire JSON. */
export function linkedServiceUrl(properties: JsonObject): string | undefined {
  const typeProperties = isObject(properties.typeProperties) ? properties.typeProperties : {};
  for (const key of ['url', 'baseUrl', 'serviceEndpoint', 'endpoint', 'host', 'server']) {
    const value = typeProperties[key];
    if (typeof value === 'string' && value.length > 0) return value;
  }
  return hostFromConnectionString(typeProperties.connectionString);
}

function hostFromConnectionString(value: unknown): string | undefined {
  const text = isObject(value) ? value.value : value;
  if (typeof text !== 'string') return undefined;

  const url = /[a-z][a-z0-9+.-]*:\/\/([^/;?:@\s]+)/i.exec(text)?.[1];
  if (url) return `https://${url}`;
  const endpoint = /(?:BlobEndpoint|Server|Data Source|Host)=(?:tcp:)?([^;,]+)/i.exec(text)?.[1];
  if (endpoint) return endpoint.includes('://') ? endpoint : `https://${endpoint}`;
  const account = /AccountName=([^;]+)/i.exec(text)?.[1];
  return account ? `https://${account}.blob.core.windows.net` : undefined;
}

/** The runtime a connectVia names, if the inventory knows it. */
function findRuntime(context: RuntimeContext, name: string | undefined): RuntimeView | undefined {
  if (!name) return undefined;
  return context.runtimes.find((runtime) => runtime.name.toLowerCase() === name.toLowerCase());
}

/** Classifies a connection by its runtime and host. */
export function classifyConnection(
  connectVia: string | undefined,
  url: string | undefined,
  context: RuntimeContext,
  type?: string,
): Verdict {
  const runtimeName = connectVia ?? MANAGED_DEFAULT;
  const onShir = shirVerdict(runtimeName, context);
  if (onShir) return onShir;

  const host = hostOf(url);
  const where = `connectVia = ${runtimeName}`;
  if (host && isPrivateLinkHost(host)) {
    return privateLink(host, [where, `host ${host} is an Azure service with Private Link`]);
  }
  if (!host && type && PRIVATE_LINK_TYPES.has(type)) {
    return privateLink(undefined, [where, `type ${type} is an Azure service with Private Link`]);
  }
  if (!host) {
    return { classification: 'internal', evidence: [where, 'no literal external URL found'] };
  }
  return {
    classification: 'external-api',
    host,
    evidence: [where, `url host ${host} is on the internet`],
  };
}

function privateLink(host: string | undefined, evidence: string[]): Verdict {
  return { classification: 'azure-private-link', host, evidence };
}

function shirVerdict(runtimeName: string, context: RuntimeContext): Verdict | undefined {
  const runtime = findRuntime(context, runtimeName);
  if (!runtime || runtime.type !== 'SelfHosted' || runtime.isShared) return undefined;

  const isOurs = runtime.name.toLowerCase() === context.ourRuntimeName.toLowerCase();
  if (!isRuntimeHealthy(runtime) && !isOurs) return undefined;
  return {
    classification: 'on-shir',
    evidence: [`connectVia = ${runtime.name} (SelfHosted, state ${runtime.state ?? 'unknown'})`],
  };
}

/** Classifies a linked service from its wire body. */
export function classifyLinkedService(body: JsonObject, context: RuntimeContext): Verdict {
  const properties = propertiesOf(body);
  const connectVia = getAt(properties, '/connectVia/referenceName');
  const type = typeof properties.type === 'string' ? properties.type : undefined;
  const verdict = classifyConnection(
    typeof connectVia === 'string' ? connectVia : undefined,
    linkedServiceUrl(properties),
    context,
    type,
  );
  return verdict.classification === 'azure-private-link'
    ? crossTenantVerdict(verdict, properties, context) ?? verdict
    : verdict;
}

/** The Entra tenant a linked service authenticates against, when it names one. */
export function linkedServiceTenant(properties: JsonObject): string | undefined {
  const tenant = getAt(properties, '/typeProperties/tenant');
  return typeof tenant === 'string' && tenant.length > 0 ? tenant : undefined;
}

/**
 * F04: with DEP, a managed private endpoint may only reach the workspace's tenant and the
 * tenants in `allowedAadTenantIdsForLinking`, a list fixed with the workspace. A service in any
 * other tenant can only be reached through the self-hosted runtime.
 */
function crossTenantVerdict(
  verdict: Verdict,
  properties: JsonObject,
  context: RuntimeContext,
): Verdict | undefined {
  const tenant = linkedServiceTenant(properties)?.toLowerCase();
  const tenants = context.tenants;
  if (!tenant || !tenants) return undefined;
  const known = [tenants.home, ...tenants.allowed].map((id) => id?.toLowerCase());
  if (known.includes(tenant)) return undefined;

  return {
    classification: 'external-api',
    host: verdict.host,
    evidence: [...verdict.evidence, `tenant ${tenant} is not the workspace's tenant and not ` +
      'in allowedAadTenantIdsForLinking, so DEP blocks a managed private endpoint to it'],
  };
}

/** Classifies a Web activity (its `typeProperties.connectVia` decides its runtime). */
export function classifyWebActivity(activity: WebActivityView, context: RuntimeContext): Verdict {
  return classifyConnection(activity.connectVia, activity.url, context);
}

/** The strongest need among several verdicts: external-api wins, then private link. */
export function combineClassifications(verdicts: readonly Classification[]): Classification {
  const order: Classification[] = ['external-api', 'azure-private-link', 'on-shir', 'internal'];
  return order.find((item) => verdicts.includes(item)) ?? 'internal';
}

/** The Web activities of a pipeline's properties, classified. */
export function webActivitiesOf(
  properties: Record<string, unknown>,
  context: RuntimeContext,
): WebActivityView[] {
  return findWebActivities(properties).map(({ pointer, activity }) => {
    const url = getAt(activity, '/typeProperties/url');
    const connectVia = getAt(activity, '/typeProperties/connectVia/referenceName');
    const view: WebActivityView = {
      name: typeof activity.name === 'string' ? activity.name : pointer,
      url: typeof url === 'string' ? url : undefined,
      connectVia: typeof connectVia === 'string' ? connectVia : undefined,
      pointer,
    };
    return { ...view, classification: classifyWebActivity(view, context).classification };
  });
}
