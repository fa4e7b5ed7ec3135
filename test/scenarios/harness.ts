/**
 * Runs one shir-doctor session against one field scenario (scenarios/F*.json) in-process:
 * a fresh emulator at timeScale 0 with its request log on, the product's session function,
 * and a SessionUI that records every event. The request log is the ground truth for "what
 * reached Azure"; `peek` is the ground truth for what Azure stores.
 */
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { CANCELLED, type EventInput, type SessionUI } from '../../source/engine/events.js';
import type { Finding, PlanItem, Target } from '../../source/engine/types.js';
import {
  runFix,
  runPlanOnly,
  runRollback,
  runVerify,
  type SessionOptions,
  type SessionResult,
} from '../../source/remediation/session.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { sessionOptions } from '../helpers/session.js';

export { stored } from '../helpers/sandbox.js';

/** A presenter stand-in: records events, answers prompts as told. */
export interface RecordingUI extends SessionUI {
  events: EventInput[];
  /** Questions `confirm` was asked. */
  questions: string[];
}

/** How the recording UI answers. */
export interface Answers {
  approve?: boolean;
  confirm?: boolean;
}

export function recordingUI(answers: Answers = {}): RecordingUI {
  const events: EventInput[] = [];
  const questions: string[] = [];
  return {
    events,
    questions,
    emit: (event) => { events.push(event); },
    approve: async () => answers.approve ?? true,
    confirm: async (question) => {
      questions.push(question);
      return answers.confirm ?? true;
    },
    askSecret: async () => CANCELLED,
  };
}

/** One exchange from the emulator's request log. */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  request: unknown;
  reply: unknown;
}

/** A started scenario: the emulator, and where the product keeps its state. */
export interface ScenarioBox extends TestSandbox {
  /** The product's --state-dir (journals, logs, reports). */
  doctorDir: string;
  requestLogPath: string;
  /** Every exchange the emulator answered so far. */
  requests(): LoggedRequest[];
  /** Session options for this box (auto-approved unless overridden). */
  options(overrides?: Partial<SessionOptions>, target?: Partial<Target>): SessionOptions;
  cleanup(): Promise<void>;
}

/** Starts the emulator on a scenario id (F01..F20, variants) or file path. */
export async function startScenario(scenario: string): Promise<ScenarioBox> {
  const stateDir = mkdtempSync(join(tmpdir(), 'shir-scenario-'));
  const requestLogPath = join(stateDir, 'requests.jsonl');
  const box = await startTestSandbox({ scenario, stateDir, requestLogPath });
  const doctorDir = join(stateDir, 'doctor');

  return {
    ...box,
    doctorDir,
    requestLogPath,
    requests: () => readRequests(requestLogPath),
    options: (overrides = {}, target = {}) => scenarioOptions(box, doctorDir, overrides, target),
    cleanup: async () => {
      await box.cleanup();
      rmSync(stateDir, { recursive: true, force: true });
      if (variantFolders.has(dirname(scenario))) {
        rmSync(dirname(scenario), { recursive: true, force: true });
      }
    },
  };
}

/** Session options with the product state in `stateDir`, a 2 s online deadline, 10 ms polls. */
function scenarioOptions(
  box: TestSandbox,
  stateDir: string,
  overrides: Partial<SessionOptions>,
  target: Partial<Target>,
): SessionOptions {
  return sessionOptions(box, {
    target: { ...box.target, ...target },
    stateDir,
    onlineDeadlineMs: 2_000,
    tuning: { pollIntervalMs: 10, installRetryDelaysMs: [0, 0, 0] },
    ...overrides,
  });
}

function readRequests(path: string): LoggedRequest[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
  const entries = lines.map((line) => JSON.parse(line) as LoggedRequest | { summary: unknown });
  return entries.filter((entry): entry is LoggedRequest => !('summary' in entry));
}

/** Requests that change something (everything but GET/HEAD, token and action POSTs). */
export function writes(box: ScenarioBox): LoggedRequest[] {
  return box.requests().filter((request) => isWrite(request));
}

const READ_ONLY_POSTS = [/\/oauth2\//i, /\/getStatus$/i, /\/listAuthKeys$/i,
  /\/queryPipelineRuns$/i, /\/queryActivityruns$/i];

function isWrite(request: LoggedRequest): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return false;
  if (request.method !== 'POST') return true;
  return !READ_ONLY_POSTS.some((pattern) => pattern.test(request.path));
}

/** Which session function to run. */
export type Command = 'fix' | 'plan' | 'verify' | 'rollback';

const RUNNERS = { fix: runFix, plan: runPlanOnly, verify: runVerify, rollback: runRollback };

/** Runs one session and returns its result and the recorded UI. */
export async function run(
  box: ScenarioBox,
  command: Command,
  options: SessionOptions = box.options(),
  ui: RecordingUI = recordingUI(),
): Promise<SessionResult & { ui: RecordingUI }> {
  const result = await RUNNERS[command](options, ui);
  return { ...result, ui };
}

export function findings(ui: RecordingUI): Finding[] {
  return ui.events.flatMap((event) => event.type === 'finding' ? [event.finding] : []);
}

export function planItems(ui: RecordingUI): PlanItem[] {
  const event = ui.events.find((item) => item.type === 'plan.ready');
  return event?.type === 'plan.ready' ? event.plan.items : [];
}

export function startedSteps(ui: RecordingUI): string[] {
  return ui.events.flatMap((event) => event.type === 'step.started' ? [event.stepId] : []);
}

/** The ARM id of a resource in the scenario's resource group. */
export function armId(box: ScenarioBox, provider: string, name: string): string {
  const { subscriptionId, resourceGroup } = box.target;
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/` +
    `${provider}/${name}`;
}

/** A runtime's stored state (nodes, versions) by runtime name. */
export function runtimeState(box: ScenarioBox, runtime: string): any {
  const id = armId(box, 'Microsoft.Synapse/workspaces',
    `${box.target.workspaceName}/integrationruntimes/${runtime}`);
  return box.sandbox.peek(`${id}#runtime`);
}

/** What is inside a VM (installed runtime, registration). */
export function guestState(box: ScenarioBox, vmName: string): any {
  return box.sandbox.peek(`${armId(box, 'Microsoft.Compute/virtualMachines', vmName)}#guest`);
}

/** Every file under `dir`, recursively, with its text. */
export function filesUnder(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const texts: Record<string, string> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    texts[path] = readFileSync(path, 'utf8');
  }
  return texts;
}

/** All the text a session's events carry, for "says X" assertions. */
export function eventText(ui: RecordingUI): string {
  return JSON.stringify(ui.events);
}

/** Folders `variant` made; a box started on one removes it at cleanup. */
const variantFolders = new Set<string>();

/** Writes a scenario that extends `base` with `patch` into a new temporary folder. */
export function variant(base: string, patch: Record<string, unknown>): string {
  const folder = mkdtempSync(join(tmpdir(), 'shir-variant-'));
  variantFolders.add(folder);
  const path = join(folder, `${base}-variant.json`);
  writeFileSync(path, JSON.stringify({ id: `${base}-variant`, extends: base,
    description: `a variant of ${base}`, ...patch }));
  return path;
}
