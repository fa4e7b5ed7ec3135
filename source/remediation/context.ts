/**
 * What the remediation steps share: the target, the clients, what detect found, what the plan
 * decided, and what earlier steps produced for later ones.
 */
import type { AzureClients } from '../azure/types.js';
import type { SessionUI } from '../engine/events.js';
import type { Target } from '../engine/types.js';

/** Where a connection's traffic leaves from, and what it needs. */
export type Classification =
  /** An internet API reached from the managed runtime: needs the SHIR. */
  | 'external-api'
  /** An Azure PaaS service with Private Link: a managed private endpoint is the better remedy. */
  | 'azure-private-link'
  /** Already on a healthy self-hosted runtime. */
  | 'on-shir'
  /** Nothing outside the workspace (or nothing this tool understands). */
  | 'internal';

export interface WorkspacePosture {
  name: string;
  id: string;
  location: string;
  managedVirtualNetwork?: string;
  preventDataExfiltration?: boolean;
  allowedAadTenantIdsForLinking: string[];
  publicNetworkAccess?: string;
  devEndpoint?: string;
  isDepLocked: boolean;
  /** The workspace's own Entra tenant (its managed identity's), when reported. */
  tenantId?: string;
}

export interface NodeView {
  nodeName: string;
  machineName?: string;
  status: string;
  version?: string;
  versionStatus?: string;
  capabilities: Record<string, string>;
}

export interface RuntimeView {
  name: string;
  type: 'Managed' | 'SelfHosted';
  state?: string;
  /** Carries linkedInfo: a shared runtime, which Synapse does not support (F05). */
  isShared: boolean;
  nodes: NodeView[];
  autoUpdate?: string;
  latestVersion?: string;
  /** `getStatus` serviceUrls: hosts the nodes must reach (the probe uses them). */
  serviceUrls?: string[];
}

export interface LinkedServiceView {
  name: string;
  type: string;
  /** `connectVia.referenceName`, absent when the default (managed) runtime is used. */
  connectVia?: string;
  url?: string;
  etag?: string;
  /** The exact body the dev endpoint returned, for the backup. */
  rawBody: string;
  /** JSON pointers (under `properties`) of SecureString values the service returned masked. */
  maskedSecrets: string[];
  classification: Classification;
}

export interface WebActivityView {
  name: string;
  url?: string;
  connectVia?: string;
  linkedServiceName?: string;
  /** JSON pointer of the activity under the pipeline's `properties`. */
  pointer?: string;
  classification?: Classification;
}

export interface PipelineView {
  name: string;
  etag?: string;
  rawBody: string;
  webActivities: WebActivityView[];
  classification: Classification;
}

export interface VmView {
  name: string;
  id: string;
  location: string;
  osType?: string;
  subnetId?: string;
  /** Known from the subnet: NAT gateway, public IP or default outbound access. */
  hasEgress?: boolean;
  tags: Record<string, string>;
}

export interface Inventory {
  workspace: WorkspacePosture;
  runtimes: RuntimeView[];
  linkedServices: LinkedServiceView[];
  pipelines: PipelineView[];
  vms: VmView[];
}

export interface HostDecision {
  mode: 'create' | 'reuse-vm' | 'reuse-runtime';
  vmName: string;
  /** Add egress to the VM's subnet (F17), and how. */
  egress?: 'nat-gateway' | 'public-ip';
}

export interface Decisions {
  runtimeName: string;
  isRuntimeNew: boolean;
  host: HostDecision;
  nodeName: string;
  /** Offline nodes with our node name to remove first (F14). */
  staleNodes: string[];
  linkedServicesToRewire: string[];
  pipelinesToRewire: string[];
  apiUrl?: string;
  /** The approved update of the used runtime's auto-update and node versions (F12). */
  runtimeUpdate?: RuntimeUpdateDecision;
}

/** What the plan approved changing on an existing runtime that is out of date (F12). */
export interface RuntimeUpdateDecision {
  /** Auto-update is Off: turn it On. */
  enableAutoUpdate: boolean;
  /** Nodes behind `latestVersion` or expired, to upgrade to `latestVersion`. */
  upgradeNodes: string[];
  latestVersion?: string;
}

/** Values a step hands to its dependants; each set by exactly one step. */
export interface Produced {
  vmId?: string;
  runtimeId?: string;
  /** Never journaled, never emitted: lives only in memory for the install step. */
  authKey?: string;
  isNodeOnline?: boolean;
  /** The subnet the new or reused VM sits in (network step). */
  subnetId?: string;
  /** The install script's output, already redacted, for the online step's diagnosis. */
  installOutput?: string;
  /**
   * Hosts the egress probe could not resolve from the VM without failing the step (the
   * representative `*.servicebus.windows.net` host), for the online step's diagnosis.
   */
  unresolvedHosts?: string[];
  /** The end-to-end test's result (prove step). */
  e2e?: EndToEndResult;
}

/** How the end-to-end pipeline run through the SHIR went. */
export interface EndToEndResult {
  isPassing: boolean;
  /** `succeeded`, `timeout` (the API did not answer in time) or `failed`. */
  status: 'succeeded' | 'timeout' | 'failed';
  runtimeName: string;
  apiUrl: string;
  statusCode?: number;
  durationMs?: number;
  runId?: string;
  detail: string;
}

/** Knobs for waits and retries of the host steps; defaults suit real Azure. */
export interface InfrastructureTuning {
  /** How long the online step waits for the node to report Online (default 10 min). */
  onlineDeadlineMs?: number;
  /**
   * First wait between getStatus polls (it doubles, up to 15 s), and the long-running
   * operation poll interval when Azure sends no Retry-After (default 1 s).
   */
  pollIntervalMs?: number;
  /** Waits before each retry of an install that hit MSI 1618 (default 30 s, 60 s, 120 s). */
  installRetryDelaysMs?: number[];
  /** Folder holding install-shir.ps1 and the other VM scripts (default: the package's). */
  scriptsDir?: string;
}

/** Supplies a masked secret's real value so a rewrite can keep it. */
export interface SecretSource {
  /** `key` is `<linkedService>:<JSON pointer under properties>`. */
  resolve(key: string): Promise<string | undefined>;
}

export interface FixContext {
  target: Target;
  clients: AzureClients;
  ui: SessionUI;
  secrets: SecretSource;
  inventory: Inventory;
  decisions: Decisions;
  produced: Produced;
  /** Optional timing overrides for the host steps (tests shorten them). */
  tuning?: InfrastructureTuning;
}
