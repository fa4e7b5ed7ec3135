/**
 * Test helpers: start a sandbox in a temp folder and build the real SDK clients against it,
 * configured as AZURE-WIRE.md says, with a policy that refuses any host but 127.0.0.1.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { SynapseManagementClient } from '@azure/arm-synapse';
import { ArtifactsClient } from '@azure/synapse-artifacts';
import { ClientSecretCredential } from '@azure/identity';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { startSandbox, type SandboxHandle, type SandboxOptions } from '../../source/sandbox/index.js';

export const ARM_SCOPE = 'https://management.azure.com/.default';

/** Refuses any request that is not for 127.0.0.1 or localhost. */
export const localOnly: PipelinePolicy = {
  name: 'localOnly',
  sendRequest(request, next) {
    const host = new URL(request.url).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost') {
      throw new Error(`test refused a request to ${host}`);
    }
    return next(request);
  },
};

/** A fresh state folder. */
export function tempState(): string {
  return mkdtempSync(join(tmpdir(), 'shir-sandbox-'));
}

/** Starts a sandbox with timeScale 0 in a fresh folder unless told otherwise. */
export function start(options: Partial<SandboxOptions> = {}): Promise<SandboxHandle> {
  return startSandbox({ stateDir: tempState(), timeScale: 0, ...options });
}

/** The real SDK clients, pointed at the sandbox. */
export function clients(sb: SandboxHandle) {
  const tlsOptions = { ca: sb.caPem };
  const credential = new ClientSecretCredential(sb.tenantId, sb.clientId, sb.clientSecret, {
    authorityHost: sb.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions,
  });
  const common = {
    endpoint: sb.endpoint,
    tlsOptions,
    retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 50 },
    additionalPolicies: [{ policy: localOnly, position: 'perRetry' as const }],
  };
  const sub = sb.target.subscriptionId;
  return {
    credential,
    synapse: new SynapseManagementClient(credential, sub, { ...common,
      credentialScopes: [ARM_SCOPE] }),
    network: new NetworkManagementClient(credential, sub, { ...common,
      credentialScopes: [ARM_SCOPE] }),
    compute: new ComputeManagementClient(credential, sub, { ...common,
      credentials: { scopes: [ARM_SCOPE] } }),
    artifacts: (devEndpoint: string) => new ArtifactsClient(credential, devEndpoint, {
      tlsOptions, retryOptions: common.retryOptions,
      additionalPolicies: common.additionalPolicies,
    }),
  };
}

/** The fast LRO polling option. */
export const fast = { updateIntervalInMs: 0 };
