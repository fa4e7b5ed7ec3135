/**
 * Domain data that flows from the remediation steps to presenters and reports.
 * Plain, serialisable objects only: they are journaled and written as JSON.
 */

/** What the session works on. */
export interface Target {
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
  /** The external API the end-to-end test calls; defaults to the affected linked services' URL. */
  apiUrl?: string;
  /** HTTP(S) proxy the VM must use for egress (F19). */
  proxyUrl?: string;
  /** Existing VM to host the runtime on, instead of creating one. */
  vmName?: string;
}

export type Severity = 'ok' | 'info' | 'warning' | 'problem';

/** One thing detect or verify found, with the wire facts behind it. */
export interface Finding {
  /** Stable id, e.g. `workspace.dep-locked`, `runtime.node-offline`. */
  id: string;
  severity: Severity;
  /** One line a human reads first. */
  title: string;
  /** Wire facts that prove it, e.g. `preventDataExfiltration = true`. */
  evidence: string[];
  /** Resource the finding is about, when there is one. */
  subject?: string;
}

export type PlanAction = 'create' | 'update' | 'delete' | 'keep';

export type ResourceKind =
  | 'integration-runtime'
  | 'runtime-node'
  | 'virtual-machine'
  | 'virtual-network'
  | 'subnet'
  | 'network-security-group'
  | 'nat-gateway'
  | 'public-ip'
  | 'network-interface'
  | 'run-command'
  | 'linked-service'
  | 'pipeline'
  | 'test-pipeline';

/** One line of the Terraform-style plan. */
export interface PlanItem {
  action: PlanAction;
  kind: ResourceKind;
  name: string;
  /** What changes, e.g. `connectVia: AutoResolveIntegrationRuntime -> shir-doctor-ir`. */
  detail: string;
  /** Why this item is in the plan. */
  evidence: string[];
}

export interface Plan {
  items: PlanItem[];
}

export function countPlan(plan: Plan): Record<PlanAction, number> {
  const tally = { create: 0, update: 0, delete: 0, keep: 0 };
  for (const item of plan.items) tally[item.action] += 1;
  return tally;
}

export function planHasChanges(plan: Plan): boolean {
  return plan.items.some((item) => item.action !== 'keep');
}
