/**
 * A scripted fix session, event by event, for presenter tests written before (and
 * independently of) the real session code.
 */
import type { DoctorEvent, SessionSummary } from '../../source/engine/events.js';
import type { Plan } from '../../source/engine/types.js';

const at = (second: number): string => new Date(Date.UTC(2026, 0, 1, 10, 0, second)).toISOString();

export const target = {
  subscriptionId: '00000000-0000-0000-0000-000000000001',
  resourceGroup: 'rg-data',
  workspaceName: 'synw-contoso',
};

export const plan: Plan = {
  items: [
    {
      action: 'create',
      kind: 'integration-runtime',
      name: 'shir-doctor-ir',
      detail: 'SelfHosted',
      evidence: ['no self-hosted runtime in the workspace'],
    },
    { action: 'create', kind: 'virtual-machine', name: 'shir-vm-1', detail: '', evidence: [] },
    {
      action: 'update',
      kind: 'linked-service',
      name: 'RestService',
      detail: 'connectVia: AutoResolveIntegrationRuntime -> shir-doctor-ir',
      evidence: ['url https://api.partner.example/v1 is an external API'],
    },
    {
      action: 'delete',
      kind: 'runtime-node',
      name: 'shir-vm-1 (Offline)',
      detail: 'stale node',
      evidence: [],
    },
    {
      action: 'keep',
      kind: 'linked-service',
      name: 'DataLake',
      detail: 'Azure storage: use a managed private endpoint',
      evidence: [],
    },
  ],
};

export const summary: SessionSummary = {
  outcome: 'fixed',
  headline: 'The API answered 200 through shir-doctor-ir in 0.4 s.',
  isApiReachable: true,
  changes: { created: ['shir-doctor-ir', 'shir-vm-1'], updated: ['RestService'], deleted: [] },
  reportPaths: { markdown: '/tmp/state/sessions/s1/report.md', json: '/tmp/r.json' },
  nextCommands: ['shir-doctor verify', 'shir-doctor rollback --session s1'],
  retries: 2,
};

/** Everything up to and including plan.ready. */
export const beforeApproval: DoctorEvent[] = [
  {
    type: 'session.started',
    sessionId: 's1',
    command: 'fix',
    target,
    mode: 'sandbox',
    isResumed: false,
    at: at(0),
  },
  {
    type: 'finding',
    finding: {
      id: 'workspace.dep-locked',
      severity: 'problem',
      title: 'The workspace is DEP-locked',
      evidence: ['managedVirtualNetwork = "default"', 'preventDataExfiltration = true'],
    },
    at: at(1),
  },
  { type: 'plan.ready', plan, at: at(2) },
];

/** From approval to the end of a successful run. */
export const afterApproval: DoctorEvent[] = [
  { type: 'plan.approved', by: 'prompt', at: at(3) },
  { type: 'step.started', stepId: 'runtime', title: 'Create the runtime', at: at(3) },
  { type: 'step.started', stepId: 'vm', title: 'Provision the VM', at: at(3) },
  { type: 'step.progress', stepId: 'vm', message: 'provisioning', at: at(4) },
  {
    type: 'retry',
    operation: 'PUT linked service',
    attempt: 1,
    statusCode: 429,
    delayMs: 10,
    at: at(4),
  },
  { type: 'step.succeeded', stepId: 'runtime', summary: 'created', elapsedMs: 1200, at: at(4) },
  { type: 'step.skipped', stepId: 'probe', title: 'Probe egress', reason: 'not needed', at: at(5) },
  { type: 'step.succeeded', stepId: 'vm', summary: 'running', elapsedMs: 42_000, at: at(45) },
  { type: 'session.finished', summary, exitCode: 0, at: at(50) },
];

export const fullRun: DoctorEvent[] = [...beforeApproval, ...afterApproval];
