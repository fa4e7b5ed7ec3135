/**
 * Public surface of the embedded Azure emulator. Only `cli`/`commands` and tests import it.
 */

export interface SandboxOptions {
  /** Folder that holds the persisted world (world.json) and the CA; created if absent. */
  stateDir: string;
  /** Scenario file path or built-in scenario id (`F01`..`F20`); default `F01`. */
  scenario?: string;
  /** Discard the persisted world and load the scenario again. */
  reset?: boolean;
  /** Multiplies every simulated latency: 1 = demo pacing, 0 = instant (tests). */
  timeScale?: number;
  /** Declarative fault file (see faults.ts). */
  faultsFile?: string;
  /** Append every request and reply, secrets redacted, as JSON lines here. */
  requestLogPath?: string;
}

export interface SandboxHandle {
  /** `https://127.0.0.1:PORT`: ARM, the workspace dev endpoints and Entra ID all live here. */
  endpoint: string;
  /** PEM of the certificate clients must trust (`tlsOptions: { ca }`). */
  caPem: string;
  caPath: string;
  /** Entra ID authority host for ClientSecretCredential (`authorityHost`). */
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The scenario's default target. */
  target: {
    subscriptionId: string;
    resourceGroup: string;
    workspaceName: string;
    location: string;
  };
  /** Base URL of the local HTTP API that stands in for the partner API. */
  demoApiUrl: string;
  close(): Promise<void>;
}
