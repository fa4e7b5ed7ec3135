/**
 * The only place that builds Azure SDK clients.
 *
 * Policy:
 * - `azure`: DefaultAzureCredential, the SDKs' default endpoints, the system CA list.
 * - `sandbox`: every client and the credential point at the emulator's endpoint, trust only its
 *   CA (`tlsOptions.ca` replaces the default list), ask for the same token scopes as real Azure,
 *   and carry the loopback guard, so nothing can leave 127.0.0.1 even by mistake.
 * - Every client reports retries through `onRetry` and uses the same retry options.
 */
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { SynapseManagementClient } from '@azure/arm-synapse';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';
import { ArtifactsClient } from '@azure/synapse-artifacts';

import { registerSecret } from '../engine/redact.js';
import { loopbackGuardPolicy, retryReporterPolicy, type RetryInfo } from './policies.js';
import type { ArtifactsOptions, AzureClients, Connection } from './types.js';

/** Token scope of Azure Resource Manager. */
export const ARM_SCOPE = 'https://management.azure.com/.default';

/** Defaults for every client; generous enough for real Azure. */
export const DEFAULT_RETRY = { maxRetries: 4, retryDelayInMs: 1000, maxRetryDelayInMs: 30_000 };

/** Optional behaviour of `createClients`. */
export interface ClientHooks {
  /** Told about every retry of every request (status, attempt, delay). */
  onRetry?(info: RetryInfo): void;
  /** Overrides the retry options; tests shrink the delays. */
  retry?: Partial<typeof DEFAULT_RETRY>;
}

type SandboxConnection = Extract<Connection, { kind: 'sandbox' }>;

/** A policy added to a client pipeline (the SDKs' `additionalPolicies` entries). */
interface AdditionalPolicyConfig {
  policy: PipelinePolicy;
  position: 'perCall' | 'perRetry';
}

/** Shared client options: policies, retries, and in sandbox mode endpoint and TLS. */
interface CommonOptions {
  additionalPolicies: AdditionalPolicyConfig[];
  retryOptions: typeof DEFAULT_RETRY;
  tlsOptions?: { ca: string };
}

/** Builds the SDK clients for one subscription. */
export function createClients(
  connection: Connection,
  subscriptionId: string,
  hooks: ClientHooks = {},
): AzureClients {
  const common = commonOptions(connection, hooks);
  const credential = createCredential(connection, common);
  const endpoint = connection.kind === 'sandbox' ? { endpoint: connection.endpoint } : {};
  const artifactsByEndpoint = new Map<string, ArtifactsClient>();

  return {
    synapse: new SynapseManagementClient(credential, subscriptionId, {
      ...common,
      ...endpoint,
      credentialScopes: [ARM_SCOPE],
    }),
    compute: new ComputeManagementClient(credential, subscriptionId, {
      ...common,
      ...endpoint,
      credentials: { scopes: [ARM_SCOPE] },
    }),
    network: new NetworkManagementClient(credential, subscriptionId, {
      ...common,
      ...endpoint,
      credentialScopes: [ARM_SCOPE],
    }),
    artifacts(devEndpoint: string, options: ArtifactsOptions = {}): ArtifactsClient {
      const retryOptions = { ...common.retryOptions, ...options };
      const key = `${devEndpoint} ${retryOptions.maxRetries}`;
      const cached = artifactsByEndpoint.get(key);
      if (cached) return cached;

      const client = new ArtifactsClient(credential, devEndpoint, { ...common, retryOptions });
      artifactsByEndpoint.set(key, client);
      return client;
    },
  };
}

function commonOptions(connection: Connection, hooks: ClientHooks): CommonOptions {
  const additionalPolicies: AdditionalPolicyConfig[] = [];
  if (connection.kind === 'sandbox') {
    additionalPolicies.push({ policy: loopbackGuardPolicy(), position: 'perRetry' });
  }
  if (hooks.onRetry) {
    additionalPolicies.push({ policy: retryReporterPolicy(hooks.onRetry), position: 'perRetry' });
  }

  const retryOptions = { ...DEFAULT_RETRY, ...hooks.retry };
  const tls = connection.kind === 'sandbox' ? { tlsOptions: { ca: connection.caPem } } : {};
  return { additionalPolicies, retryOptions, ...tls };
}

function createCredential(connection: Connection, common: CommonOptions): TokenCredential {
  if (connection.kind === 'azure') return new DefaultAzureCredential(common);

  return sandboxCredential(connection, common);
}

function sandboxCredential(connection: SandboxConnection, common: CommonOptions): TokenCredential {
  const { tenantId, clientId, clientSecret, authorityHost } = connection;
  registerSecret(clientSecret);
  return new ClientSecretCredential(tenantId, clientId, clientSecret, {
    ...common,
    authorityHost,
    disableInstanceDiscovery: true,
  });
}
