/**
 * Fixture for the host-step tests: a sandbox at timeScale 0 (optionally from a scenario made
 * from F01 plus changes), the product's real SDK clients against it, a FixContext with short
 * waits, and a StepIO that records progress lines.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createClients } from '../../source/azure/clients.js';
import type { Connection } from '../../source/azure/types.js';
import { CANCELLED } from '../../source/engine/events.js';
import type { Step, StepIO } from '../../source/engine/step.js';
import type { Decisions, FixContext } from '../../source/remediation/context.js';
import { startSandbox, type SandboxHandle } from '../../source/sandbox/index.js';
import { createMemoryJournal, type MemoryJournal } from '../helpers/journal.js';

/** A scenario change: takes F01 (parsed) and returns the world to start from. */
export type ScenarioEdit = (scenario: Record<string, any>) => Record<string, any>;

export interface HostFixture {
  sandbox: SandboxHandle;
  context: FixContext;
  journal: MemoryJournal;
  progress: string[];
  io: StepIO;
  stateDir: string;
  run(step: Step<FixContext>): ReturnType<Step<FixContext>['run']>;
  close(): Promise<void>;
}

const F01 = join(import.meta.dirname, '..', '..', 'scenarios', 'F01.json');

export function defaultDecisions(overrides: Partial<Decisions> = {}): Decisions {
  return {
    runtimeName: 'shir-doctor-ir',
    isRuntimeNew: true,
    host: { mode: 'create', vmName: 'shirvm', egress: 'nat-gateway' },
    nodeName: 'shirvm',
    staleNodes: [],
    linkedServicesToRewire: [],
    pipelinesToRewire: [],
    ...overrides,
  };
}

export async function startHostFixture(
  options: { edit?: ScenarioEdit; decisions?: Partial<Decisions>; proxyUrl?: string } = {},
): Promise<HostFixture> {
  const stateDir = mkdtempSync(join(tmpdir(), 'shir-host-'));
  const scenario = writeScenario(stateDir, options.edit);
  const sandbox = await startSandbox({ stateDir, timeScale: 0, scenario });
  const connection: Connection = {
    kind: 'sandbox',
    endpoint: sandbox.endpoint,
    caPem: sandbox.caPem,
    authorityHost: sandbox.authorityHost,
    tenantId: sandbox.tenantId,
    clientId: sandbox.clientId,
    clientSecret: sandbox.clientSecret,
  };
  const target = { ...sandbox.target, proxyUrl: options.proxyUrl };
  const clients = createClients(connection, target.subscriptionId, {
    retry: { retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  });

  const journal = createMemoryJournal();
  const progress: string[] = [];
  const io: StepIO = {
    progress: (message) => progress.push(message),
    signal: new AbortController().signal,
    journal,
  };
  const context = makeContext(target, clients, defaultDecisions(options.decisions));
  return {
    sandbox, context, journal, progress, io, stateDir,
    run: (step) => step.run(context, io),
    close: async () => {
      await sandbox.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

function writeScenario(stateDir: string, edit?: ScenarioEdit): string {
  if (!edit) return 'F01';

  const base = JSON.parse(readFileSync(F01, 'utf8')) as Record<string, any>;
  const path = join(stateDir, 'scenario.json');
  writeFileSync(path, JSON.stringify(edit(base)));
  return path;
}

function makeContext(
  target: FixContext['target'] & { location: string },
  clients: FixContext['clients'],
  decisions: Decisions,
): FixContext {
  return {
    target,
    clients,
    ui: {
      emit: () => undefined,
      approve: async () => CANCELLED,
      confirm: async () => CANCELLED,
      askSecret: async () => CANCELLED,
    },
    secrets: { resolve: async () => undefined },
    inventory: {
      workspace: { name: target.workspaceName, id: '', location: target.location,
        allowedAadTenantIdsForLinking: [], isDepLocked: true },
      runtimes: [],
      linkedServices: [],
      pipelines: [],
      vms: [],
    },
    decisions,
    produced: {},
    tuning: { pollIntervalMs: 5, onlineDeadlineMs: 3_000, installRetryDelaysMs: [5, 5, 5] },
  };
}

/** The runtime's ARM id in the fixture's world. */
export function runtimeIdOf(fixture: HostFixture, name = 'shir-doctor-ir'): string {
  const { subscriptionId, resourceGroup, workspaceName } = fixture.context.target;
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/` +
    `Microsoft.Synapse/workspaces/${workspaceName}/integrationRuntimes/${name}`;
}
