/**
 * Prove: a real pipeline run through the self-hosted runtime against the target API.
 *
 * Protocol: create a temporary pipeline `shir-doctor-e2e-<session>` with one Web activity whose
 * `typeProperties.connectVia` is the SHIR and whose HTTP timeout is 30 s (F18); start a run;
 * poll it until it ends; read its activity run for the status code, duration and error; delete
 * the temporary pipeline in every case. A timeout is reported as the API being slow, naming
 * it — never as a runtime failure: by the time this runs, the node is Online and the VM's
 * egress probe has passed. Creation and deletion are journaled.
 *
 * A run killed before its cleanup leaves its temporary pipeline behind (and the pipeline keeps
 * the runtime in use). Later sessions look through the earlier journals for the target: a test
 * pipeline created and never deleted by a session whose process is gone is removed, if it
 * still exists, before their own test.
 */
import type { ArtifactsClient } from '@azure/synapse-artifacts';
import { toDoctorError } from '../azure/errors.js';
import { DoctorError } from '../engine/errors.js';
import {
  isSameTarget,
  isSessionBusy,
  listSessions,
  readJournal,
  type JournalContents,
} from '../engine/journal.js';
import type { Target } from '../engine/types.js';
import type { Journal, Step, StepIO, StepOutcome } from '../engine/step.js';
import { hostOf } from './classify.js';
import type { EndToEndResult, FixContext } from './context.js';
import { deletePipeline, isObject, runtimeReference, writeDefinition } from './definitions.js';
import type { JsonObject } from './definitions.js';
import { testPipelineName } from './plan.js';
import { artifactsOf } from './rewire.js';

/** The Web activity's HTTP timeout: sane for an API call, under the 1 min default (F18). */
export const API_TIMEOUT = '00:00:30';
const API_TIMEOUT_SECONDS = 30;

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled', 'Canceled']);

/** What the end-to-end run needs; verify passes the same. */
export interface EndToEndInput {
  artifacts: ArtifactsClient;
  journal: Journal;
  runtimeName: string;
  apiUrl: string;
  /** Where the journal records the temporary pipeline. */
  devEndpoint: string;
  progress(message: string): void;
  signal: AbortSignal;
  pollIntervalMs?: number;
  /** Give up waiting for the run after this long (default 5 min). */
  deadlineMs?: number;
}

export function proveStep(): Step<FixContext> {
  return {
    id: 'prove',
    title: 'End-to-end API test through the self-hosted runtime',
    dependsOn: ['rewire', 'online', 'runtime-update'],
    run: runProve,
  };
}

async function runProve(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const apiUrl = context.decisions.apiUrl ?? context.target.apiUrl;
  if (!apiUrl) throw noApiUrl();

  const result = await runEndToEnd({
    artifacts: artifactsOf(context),
    journal: io.journal,
    runtimeName: context.decisions.runtimeName,
    apiUrl,
    devEndpoint: context.inventory.workspace.devEndpoint ?? '',
    progress: io.progress,
    signal: io.signal,
    pollIntervalMs: context.tuning?.pollIntervalMs,
  });
  context.produced.e2e = result;
  if (!result.isPassing) throw endToEndError(result);
  return { status: 'succeeded', summary: result.detail };
}

/** The temporary pipeline's properties: one Web activity on the SHIR. */
export function testPipelineProperties(runtimeName: string, apiUrl: string): JsonObject {
  return {
    description: 'Temporary end-to-end test created by shir-doctor; deleted after its run.',
    activities: [{
      name: 'CallApiThroughShir',
      type: 'WebActivity',
      dependsOn: [],
      policy: { timeout: '0.00:02:00', retry: 0, retryIntervalInSeconds: 30,
        secureOutput: false, secureInput: false },
      userProperties: [],
      typeProperties: {
        method: 'GET',
        url: apiUrl,
        httpRequestTimeout: API_TIMEOUT,
        connectVia: runtimeReference(runtimeName),
      },
    }],
    annotations: ['shir-doctor'],
  };
}

/** Creates, runs and deletes the temporary pipeline; never throws for a failed run. */
export async function runEndToEnd(input: EndToEndInput): Promise<EndToEndResult> {
  const name = testPipelineName(input.journal.sessionId);
  await createTestPipeline(input, name);
  try {
    return await runAndRead(input, name);
  } finally {
    await removeTestPipeline(input, name);
  }
}

function resourceId(input: CleanupInput, name: string): string {
  return `${input.devEndpoint}/pipelines/${name}`;
}

async function createTestPipeline(input: EndToEndInput, name: string): Promise<void> {
  input.progress(`creating test pipeline ${name}`);
  const intentId = await input.journal.intend({ action: 'create', kind: 'test-pipeline', name,
    resourceId: resourceId(input, name) });
  try {
    const written = await writeDefinition(input.artifacts, 'pipeline', name,
      testPipelineProperties(input.runtimeName, input.apiUrl), { signal: input.signal });
    await input.journal.conclude(intentId, { isOk: true, etag: written.etag });
  } catch (error) {
    await input.journal.conclude(intentId, { isOk: false, error: String(error) });
    throw toDoctorError(error, { operation: 'create the test pipeline', resource: name });
  }
}

async function removeTestPipeline(input: CleanupInput, name: string): Promise<void> {
  const intentId = await input.journal.intend({ action: 'delete', kind: 'test-pipeline', name,
    resourceId: resourceId(input, name) });
  try {
    await deletePipeline(input.artifacts, name);
    await input.journal.conclude(intentId, { isOk: true });
  } catch (error) {
    await input.journal.conclude(intentId, { isOk: false, error: String(error) });
    input.progress(`could not delete test pipeline ${name}; remove it by hand`);
  }
}

/** Test pipelines that earlier, no longer running sessions for `target` left behind. */
export async function leftoverTestPipelines(
  stateDir: string,
  target: Target,
  sessionId: string,
): Promise<string[]> {
  const names = new Set<string>();
  for (const session of await listSessions(stateDir)) {
    const isOther = session.sessionId !== sessionId && session.target !== undefined &&
      isSameTarget(session.target, target);
    if (!isOther || await isSessionBusy(session.directory)) continue;

    for (const name of undeletedTestPipelines(await readJournal(session.directory))) {
      names.add(name);
    }
  }
  return [...names];
}

function undeletedTestPipelines(contents: JournalContents): string[] {
  const created = new Set<string>();
  for (const { change, result } of contents.changes) {
    if (change.kind !== 'test-pipeline') continue;
    if (change.action === 'create') created.add(change.name);
    if (change.action === 'delete' && result?.isOk) created.delete(change.name);
  }
  return [...created];
}

/** What removing a test pipeline needs. */
export type CleanupInput = Pick<EndToEndInput, 'artifacts' | 'journal' | 'devEndpoint' |
  'progress'>;

/** Deletes those of `names` that still exist in the workspace, journaled like our own. */
export async function removeLeftoverTestPipelines(
  input: CleanupInput,
  names: string[],
): Promise<void> {
  if (names.length === 0) return;

  const existing = new Set<string>();
  for await (const pipeline of input.artifacts.pipelineOperations.listPipelinesByWorkspace()) {
    if (pipeline.name && names.includes(pipeline.name)) existing.add(pipeline.name);
  }
  for (const name of existing) {
    input.progress(`removing test pipeline ${name}, left by an interrupted run`);
    await removeTestPipeline(input, name);
  }
}

interface RunView {
  status: string;
  message?: string;
  durationInMs?: number;
}

async function runAndRead(input: EndToEndInput, name: string): Promise<EndToEndResult> {
  const started = Date.now();
  const { runId } = await input.artifacts.pipelineOperations.createPipelineRun(name);
  input.progress(`pipeline run ${runId} started`);
  const run = await waitForRun(input, runId);
  if (run.status === 'TimedOut') await cancelRun(input, runId);
  const activity = await readActivityRun(input, name, runId, started);
  return interpret(input, { ...run, runId }, activity);
}

async function waitForRun(input: EndToEndInput, runId: string): Promise<RunView> {
  const deadline = Date.now() + (input.deadlineMs ?? 5 * 60_000);
  let delay = Math.min(250, input.pollIntervalMs ?? 2000);
  let reported = '';
  for (;;) {
    const run = await input.artifacts.pipelineRunOperations.getPipelineRun(runId);
    const status = run.status ?? 'Unknown';
    if (TERMINAL.has(status)) {
      return { status, message: run.message, durationInMs: run.durationInMs };
    }
    if (Date.now() > deadline || input.signal.aborted) {
      return { status: 'TimedOut', message: `the run was still ${status} when shir-doctor ` +
        'stopped waiting' };
    }
    // Each status once: verify prints progress as lines, and a poll is no news.
    if (status !== reported) input.progress(`pipeline run ${status}`);
    reported = status;
    await sleep(delay, input.signal);
    delay = Math.min(delay * 2, input.pollIntervalMs ?? 2000);
  }
}

async function cancelRun(input: EndToEndInput, runId: string): Promise<void> {
  try {
    await input.artifacts.pipelineRunOperations.cancelPipelineRun(runId);
  } catch {
    input.progress(`could not cancel pipeline run ${runId}`);
  }
}

/** Waits `ms`, or less when aborted; leaves no listener on the signal (one per poll adds up). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

interface ActivityView {
  status?: string;
  durationInMs?: number;
  output?: unknown;
  error?: { errorCode?: string; message?: string; failureType?: string };
}

async function readActivityRun(
  input: EndToEndInput,
  name: string,
  runId: string,
  started: number,
): Promise<ActivityView | undefined> {
  try {
    const response = await input.artifacts.pipelineRunOperations.queryActivityRuns(name, runId, {
      lastUpdatedAfter: new Date(started - 5 * 60_000),
      lastUpdatedBefore: new Date(Date.now() + 5 * 60_000),
    });
    return response.value[0] as ActivityView | undefined;
  } catch {
    return undefined;
  }
}

/** Reads the API's status code from the activity output or its error message. */
export function statusCodeOf(activity: ActivityView | undefined): number | undefined {
  const output = isObject(activity?.output) ? activity.output : {};
  for (const key of ['statusCode', 'StatusCode', 'status']) {
    const value = Number(output[key]);
    if (Number.isInteger(value) && value >= 100 && value < 600) return value;
  }
  const match = /status code:?\s*'?(\d{3})/i.exec(activity?.error?.message ?? '');
  return match ? Number(match[1]) : undefined;
}

/** True when the failure is the API not answering in time. */
export function isTimeout(message: string): boolean {
  return /timed out|task was cancell?ed|httpRequestTimeout/i.test(message);
}

function interpret(
  input: EndToEndInput,
  run: RunView & { runId: string },
  activity: ActivityView | undefined,
): EndToEndResult {
  const statusCode = statusCodeOf(activity);
  const durationMs = activity?.durationInMs ?? run.durationInMs;
  const base = { runtimeName: input.runtimeName, apiUrl: input.apiUrl, statusCode, durationMs,
    runId: run.runId };
  if (run.status === 'Succeeded') {
    return { ...base, isPassing: true, status: 'succeeded', detail: successDetail(base) };
  }

  // Our own wait running out says nothing about the API: only the activity's error does.
  if (run.status === 'TimedOut') {
    return { ...base, isPassing: false, status: 'failed', detail: run.message ?? 'no result' };
  }
  const message = activity?.error?.message || run.message || `the run ended ${run.status}`;
  const timedOut = isTimeout(message);
  return { ...base, isPassing: false, status: timedOut ? 'timeout' : 'failed', detail: message };
}

function successDetail(base: { statusCode?: number; durationMs?: number;
  runtimeName: string; apiUrl: string }): string {
  const answer = base.statusCode ? `answered ${base.statusCode}` : 'answered with a 2xx status';
  return `The API ${answer} through ${base.runtimeName}${formatDuration(base.durationMs)} ` +
    `(${base.apiUrl})`;
}

function formatDuration(ms: number | undefined): string {
  if (ms === undefined || ms <= 0) return '';
  return ms < 1000 ? ` in ${Math.round(ms)} ms` : ` in ${(ms / 1000).toFixed(1)} s`;
}

/** The DoctorError for a failed end-to-end run; a timeout names the API, not the runtime. */
export function endToEndError(result: EndToEndResult): DoctorError {
  const host = hostOf(result.apiUrl) ?? result.apiUrl;
  if (result.status === 'timeout') {
    return new DoctorError({
      code: 'api-timeout',
      what: `The API at ${host} did not answer within ${API_TIMEOUT_SECONDS} s when called ` +
        `through ${result.runtimeName}.`,
      why: `${result.detail}. The runtime is Online and the VM reached ${host} in the egress ` +
        'probe, so the route works; the API itself is slow.',
      fix: `Check that ${result.apiUrl} answers quickly (or pass a lighter endpoint with ` +
        '--api-url), then run shir-doctor verify.',
    });
  }
  return new DoctorError({
    code: 'e2e-failed',
    what: `The end-to-end test run through ${result.runtimeName} failed` +
      (result.statusCode ? ` (the API answered ${result.statusCode}).` : '.'),
    why: result.detail,
    fix: result.statusCode
      ? `The route works; check the API's answer for ${result.apiUrl} (auth, path), or pass ` +
        'another URL with --api-url, then run shir-doctor verify.'
      : 'Check the runtime node\'s event log and the activity error above, then run ' +
        'shir-doctor verify.',
  });
}

function noApiUrl(): DoctorError {
  return new DoctorError({
    code: 'no-api-url',
    what: 'There is no API URL to test: no affected linked service or Web activity has a ' +
      'literal URL.',
    fix: 'Pass the API to call with --api-url https://…',
    exitCode: 2,
  });
}
