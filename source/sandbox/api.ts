/**
 * Public surface of the embedded Azure emulator. Only `cli`/`commands` and tests import it.
 */

/** How to start the sandbox. */
export interface SandboxOptions {
  /** Folder that holds the persisted world (world.json) and the CA; created if absent. */
  stateDir: string;
  /**
   * Scenario file path or built-in scenario id (`F01`..`F20`, variants like `F10b`); default
   * the scenario of the world saved in `stateDir` (kept as it was left), else `F01`.
   */
  scenario?: string;
  /** Discard the persisted world and load the scenario again (the saved one if none given). */
  reset?: boolean;
  /** Multiplies every simulated latency: 1 = demo pacing, 0 = instant (tests). */
  timeScale?: number;
  /** Declarative fault file (see faults.ts). */
  faultsFile?: string;
  /** Append every request and reply, secrets redacted, as JSON lines here. */
  requestLogPath?: string;
  /** Items per ARM and dev endpoint list page before a `nextLink` (default 10). */
  pageSize?: number;
}

/** A running sandbox. */
export interface SandboxHandle {
  /** `https://127.0.0.1:PORT`: ARM, the workspace dev endpoints and Entra ID all live here. */
  endpoint: string;
  /** PEM of the certificate clients must trust (`tlsOptions: { ca }`). */
  caPem: string;
  /** The same certificate as a file in the state folder (for `NODE_EXTRA_CA_CERTS`). */
  caPath: string;
  /** Entra ID authority host for ClientSecretCredential (`authorityHost`). */
  authorityHost: string;
  /** The scenario's service principal (client credentials) that the sandbox's Entra accepts. */
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
  /**
   * The real values of secrets the service returns masked, as the workspace admin knows them,
   * keyed `<linkedServiceName>:<JSON pointer under properties>`, e.g.
   * `RestService:/typeProperties/authHeaders/x-api-key`.
   */
  adminSecrets: Record<string, string>;
  /**
   * Test only: the stored, unmasked state behind an ARM id, a dev endpoint path
   * (`/dev/{workspace}/linkedservices/{name}`, `.../pipelines/{name}`, `.../pipelineruns/{id}`),
   * `<runtimeId>#runtime` (nodes, versions) or `<vmId>#guest` (what is inside the VM).
   * Undefined when absent.
   */
  peek(pathOrId: string): unknown;
  /** Test only: a bearer token for `scope`; a negative lifetime makes it already expired. */
  issueToken(scope: string, lifetimeSeconds?: number): string;
  close(): Promise<void>;
}
