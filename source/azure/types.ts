/**
 * What the product gets from the azure layer: real SDK clients, pointed at real Azure or at
 * the sandbox, and nothing else.
 */
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { NetworkManagementClient } from '@azure/arm-network';
import type { SynapseManagementClient } from '@azure/arm-synapse';
import type { ArtifactsClient } from '@azure/synapse-artifacts';

/** Where the clients point. */
export type Connection =
  /** Public Azure, signed in through DefaultAzureCredential (az login, env, managed identity). */
  | { kind: 'azure' }
  /** The embedded emulator: every request goes to 127.0.0.1 and is refused otherwise. */
  | {
      kind: 'sandbox';
      endpoint: string;
      caPem: string;
      authorityHost: string;
      tenantId: string;
      clientId: string;
      clientSecret: string;
    };

export interface AzureClients {
  synapse: SynapseManagementClient;
  compute: ComputeManagementClient;
  network: NetworkManagementClient;
  /**
   * A dev-endpoint client for one workspace (`connectivityEndpoints.dev`); `options` may ask
   * for fewer retries (e.g. none, for a first reachability probe that must fail fast).
   */
  artifacts(devEndpoint: string, options?: ArtifactsOptions): ArtifactsClient;
}

/** Per-client overrides of the shared retry options for a dev-endpoint client. */
export interface ArtifactsOptions {
  /** Retries after the first attempt; the shared default when absent. */
  maxRetries?: number;
}
