/**
 * Fixture for the host-step tests: a test sandbox (timeScale 0, optionally from a scenario made
 * from F01 plus changes) with the product's clients, a FixContext with short waits, a StepIO
 * that records progress lines, and a way to run the whole host graph with a file journal.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CANCELLED } from '../../source/engine/events.js';
import type { EventInput } from '../../source/engine/events.js';
import { openJournal } from '../../source/engine/journal.js';
import { runSteps, type RunResult } from '../../source/engine/runner.js';
import type { Step, StepIO } from '../../source/engine/step.js';
import { infrastructureSteps } from '../../source/remediation/host.js';
import type { Decisions, FixContext } from '../../source/remediation/context.js';
import type { SandboxHandle } from '../../source/sandbox/index.js';
import { createMemoryJournal, type MemoryJournal } from '../helpers/journal.js';
import { startTestSandbox } from '../helpers/sandbox.js';

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
  /** Runs the whole host graph with a file journal; events are captured before redaction. */
  runGraph(sessionId?: string): Promise<GraphRun>;
  close(): Promise<void>;
}

/** What one run of the host graph left behind. */
export interface GraphRun {
  result: RunResult;
  events: EventInput[];
  journalDir: string;
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
  options: {
    /** A built-in scenario id, or a scenario object (it may `extends` a built-in one). */
    scenario?: string | Record<string, unknown>;
    edit?: ScenarioEdit;
    decisions?: Partial<Decisions>;
    proxyUrl?: string;
  } = {},
): Promise<HostFixture> {
  const stateDir = mkdtempSync(join(tmpdir(), 'shir-host-'));
  const scenario = writeScenario(stateDir, options.edit, options.scenario);
  const test = await startTestSandbox({ stateDir, scenario });
  const { sandbox, clients } = test;
  const target = { ...sandbox.target, proxyUrl: options.proxyUrl };

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
    runGraph: (sessionId = 'host-session') => runGraph(context, stateDir, sessionId),
    close: () => test.cleanup(),
  };
}

async function runGraph(
  context: FixContext,
  stateDir: string,
  sessionId: string,
): Promise<GraphRun> {
  const journal = await openJournal({ stateDir: join(stateDir, 'state'), target: context.target,
    command: 'fix', sessionId });
  const events: EventInput[] = [];
  const result = await runSteps(infrastructureSteps(), context, {
    emit: (event) => events.push(event),
    journal,
  });
  await journal.close();
  return { result, events, journalDir: journal.directory };
}

function writeScenario(
  stateDir: string,
  edit?: ScenarioEdit,
  given?: string | Record<string, unknown>,
): string {
  if (typeof given === 'string') return given;
  if (given) {
    const path = join(stateDir, 'scenario.json');
    writeFileSync(path, JSON.stringify(given));
    return path;
  }
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
