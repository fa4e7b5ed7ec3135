/**
 * Pipeline runs. A run is Queued for ~0.5 s, InProgress for at least ~2 s (demo pacing), then
 * Succeeded or Failed from its activities, which run in order until one fails.
 *
 * Where a Web activity runs: its `typeProperties.connectVia` (or its own `connectVia`), else its
 * linked service's `connectVia`, else the managed AutoResolve runtime.
 * - Managed runtime in a DEP-locked workspace: an external host is unreachable (connection
 *   failure, as the service reports it); elsewhere the call goes out.
 * - Self-hosted runtime: needs an Online node; the call leaves from that node's VM, so the VM's
 *   egress, the scenario's blocked hosts and proxy rules apply; then the real HTTP call is made
 *   to the sandbox's internet (127.0.0.1 only) within `httpRequestTimeout` (default 1 minute).
 * Other activity types succeed with an empty output.
 */
import { hostMatches, reachHost } from './egress.js';
import { guid } from './http.js';
import { type CallResult, type Internet, MIN_SCALE } from './internet.js';
import type { PipelineRunner } from './dev.js';
import type { ArmResource } from './scenario.js';
import { isDepLocked, refreshNodes } from './synapse.js';
import type { ActivityRunState, DevArtifact, PipelineRunState, World } from './world.js';

type Activity = Record<string, any>;
type ActivityResult = Pick<ActivityRunState, 'status' | 'output' | 'error' | 'input'> & {
  runtimeName: string;
};

const AUTO_RESOLVE = 'AutoResolveIntegrationRuntime';
const AZURE_HOSTS = ['*.windows.net', '*.azure.net', '*.azure.com', '*.azuresynapse.net'];

/** Starts and advances pipeline runs. */
export class Pipelines implements PipelineRunner {
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly world: World,
    private readonly internet: Internet,
    private readonly timeScale: number,
  ) {}

  start(ws: ArmResource, pipeline: DevArtifact, parameters: Record<string, unknown>)
    : PipelineRunState {
    const now = Date.now();
    const startAt = now + 500 * this.timeScale;
    const run: PipelineRunState = {
      runId: guid(), pipelineName: pipeline.name, parameters, createdAt: now, startAt,
      minEndAt: startAt + 2000 * this.timeScale, status: 'Queued', message: '',
      activities: [], executed: false,
    };
    this.world.dev(ws.name).runs[run.runId] = run;
    void this.execute(ws, pipeline, run);
    return run;
  }

  refresh(ws: ArmResource, run: PipelineRunState): void {
    if (!['Queued', 'InProgress'].includes(run.status)) return;
    if (!run.executed && !this.inFlight.has(run.runId)) this.resume(ws, run);

    const now = Date.now();
    if (now < run.startAt) return;
    if (!run.executed || now < run.minEndAt) {
      run.status = 'InProgress';
      return;
    }
    const failed = run.activities.find((a) => a.status === 'Failed');
    run.status = failed ? 'Failed' : 'Succeeded';
    run.message = failed
      ? `Operation on target ${failed.activityName} failed: ${failed.error?.message ?? ''}` : '';
    run.end = new Date(Math.max(now, run.minEndAt)).toISOString();
    this.world.save();
  }

  private resume(ws: ArmResource, run: PipelineRunState): void {
    const pipeline = this.world.dev(ws.name).pipelines[run.pipelineName.toLowerCase()];
    run.activities = [];
    if (pipeline) void this.execute(ws, pipeline, run);
    else run.executed = true;
  }

  private async execute(ws: ArmResource, pipeline: DevArtifact, run: PipelineRunState)
    : Promise<void> {
    this.inFlight.add(run.runId);
    try {
      const activities = (pipeline.properties.activities ?? []) as Activity[];
      for (const activity of activities) {
        const started = Math.max(Date.now(), run.startAt);
        const clock = performance.now();
        const result = await this.runActivity(ws, pipeline, run, activity);
        const tookMs = Math.max(1, Math.round(performance.now() - clock));
        run.activities.push(toActivityRun(activity, result, started, tookMs));
        if (result.status === 'Failed') break;
      }
    } finally {
      run.executed = true;
      this.inFlight.delete(run.runId);
      this.world.save();
    }
  }

  private async runActivity(ws: ArmResource, pipeline: DevArtifact, run: PipelineRunState,
    activity: Activity): Promise<ActivityResult> {
    if (activity.type !== 'WebActivity') {
      return { status: 'Succeeded', output: {}, input: {}, runtimeName: AUTO_RESOLVE };
    }
    const tp = activity.typeProperties ?? {};
    const url = evaluate(tp.url, pipeline, run);
    const runtimeName = this.runtimeOf(ws, activity);
    const input = { url, method: tp.method ?? 'GET', headers: tp.headers ?? {},
      httpRequestTimeout: tp.httpRequestTimeout ?? '00:01:00' };
    const fail = (errorCode: string, message: string): ActivityResult => ({
      status: 'Failed', input, runtimeName,
      error: { errorCode, message, failureType: 'UserError', target: activity.name },
    });

    const blocked = this.blockReason(ws, runtimeName, url);
    if (blocked) return fail(blocked.code, blocked.message);
    const timeoutMs = timespanMs(input.httpRequestTimeout) * Math.max(this.timeScale, MIN_SCALE);
    const result = await this.call(url, input.method, tp, timeoutMs);
    return webOutcome(result, url, input, runtimeName, ws, fail);
  }

  private runtimeOf(ws: ArmResource, activity: Activity): string {
    const own = activity.typeProperties?.connectVia?.referenceName ??
      activity.connectVia?.referenceName;
    if (own) return own;
    const lsName = activity.linkedServiceName?.referenceName;
    const ls = lsName && this.world.dev(ws.name).linkedServices[String(lsName).toLowerCase()];
    return ls?.properties?.connectVia?.referenceName ?? AUTO_RESOLVE;
  }

  private blockReason(ws: ArmResource, runtimeName: string, url: string)
    : { code: string; message: string } | undefined {
    const host = hostOf(url);
    if (!host) return { code: '2108', message: `Invalid URL '${url}'.` };
    const ir = this.world.get(`${ws.id}/integrationruntimes/${runtimeName}`);
    if (!ir) {
      return { code: '2108', message: `Integration runtime '${runtimeName}' was not found.` };
    }
    if (ir.properties?.type !== 'SelfHosted') {
      const isAzure = AZURE_HOSTS.some((p) => hostMatches(p, host));
      return isDepLocked(ws) && !isAzure ? unreachable(url) : undefined;
    }
    return this.selfHostedBlock(ir, host, url);
  }

  private selfHostedBlock(ir: ArmResource, host: string, url: string)
    : { code: string; message: string } | undefined {
    const rt = this.world.runtime(ir.id);
    refreshNodes(this.world, rt);
    const node = rt.nodes.find((n) => n.status === 'Online' &&
      !Object.values(n.capabilities ?? {}).includes('False'));
    if (!node) {
      return { code: '2108', message: `The self-hosted integration runtime '${ir.name}' is ` +
        'offline or has no node that can take jobs. Check its nodes with getStatus.' };
    }
    const proxyUrl = node.vmId ? this.world.guest(node.vmId).runtime?.proxyUrl : undefined;
    const reach = reachHost(this.world, node.vmId, host, proxyUrl);
    if (reach === 'ok') return undefined;
    if (reach === 'dns-failed') return dnsFailure(url, host);
    if (reach === 'tls-failed') {
      return { code: '2108', message: `Error calling the endpoint '${url}'. Response status ` +
        "code: 'NA - Unknown'. More details: Exception message: 'The SSL connection could not " +
        "be established: the remote certificate is invalid according to the validation " +
        "procedure.'. Request didn't reach the server from the client." };
    }
    if (reach === 'proxy-required') {
      return { code: '2108', message: `Error calling the endpoint '${url}'. Response status ` +
        "code: '407 ProxyAuthenticationRequired'. The node's outbound traffic must go through " +
        'a proxy that the runtime is not configured to use.' };
    }
    return unreachable(url);
  }

  private async call(url: string, method: string, tp: Record<string, any>, timeoutMs: number)
    : Promise<CallResult> {
    if (!this.internet.knows(hostOf(url) ?? '') && AZURE_HOSTS.some((p) =>
      hostMatches(p, hostOf(url) ?? ''))) {
      return { ok: true, status: 200, headers: {}, body: {}, ms: 40 };
    }
    const headers = typeof tp.headers === 'object' && tp.headers ? stringValues(tp.headers) : {};
    const body = tp.body === undefined ? undefined
      : typeof tp.body === 'string' ? tp.body : JSON.stringify(tp.body);
    return this.internet.call(url, { method, headers, body, timeoutMs });
  }
}

function webOutcome(result: CallResult, url: string, input: Record<string, unknown>,
  runtimeName: string, ws: ArmResource,
  fail: (code: string, message: string) => ActivityResult): ActivityResult {
  if (!result.ok && result.failure === 'timeout') {
    return fail('2108', `Error calling the endpoint '${url}'. Response status code: 'NA - ` +
      `Unknown'. More details: Exception message: 'The request timed out after ` +
      `${input.httpRequestTimeout} (httpRequestTimeout)'. The endpoint did not answer in time.`);
  }
  if (!result.ok && result.failure === 'dns') return fail('2108', dnsFailure(url,
    hostOf(url) ?? '').message);
  if (!result.ok) return fail('2108', unreachable(url).message);
  if (result.status >= 400) {
    return fail('2108', `Error calling the endpoint '${url}'. Response status code: ` +
      `'${result.status}'. More details: ${JSON.stringify(result.body).slice(0, 300)}`);
  }
  const body = result.body && typeof result.body === 'object' ? result.body
    : { Response: result.body };
  return {
    status: 'Succeeded', input, runtimeName,
    output: { ...body, ADFWebActivityResponseHeaders: result.headers,
      effectiveIntegrationRuntime: `${runtimeName} (${ws.location ?? 'West Europe'})`,
      executionDuration: Math.max(1, Math.round(result.ms / 1000)),
      durationInQueue: { integrationRuntimeQueue: 0 },
      billingReference: { activityType: 'ExternalActivity', billableDuration: [
        { meterType: runtimeName === AUTO_RESOLVE ? 'AzureIR' : 'SelfhostedIR',
          duration: 0.016666666666666666, unit: 'Hours' }] } },
  };
}

function unreachable(url: string): { code: string; message: string } {
  return { code: '2108', message: `Error calling the endpoint '${url}'. Response status code: ` +
    "'NA - Unknown'. More details: Exception message: 'NA - Unknown [ClientSideException] A " +
    'connection attempt failed because the connected party did not properly respond after a ' +
    "period of time, or established connection failed because connected host has failed to " +
    "respond.'. Request didn't reach the server from the client. This could happen because of " +
    'an underlying issue such as network connectivity, a DNS failure, a server certificate ' +
    'validation or a timeout.' };
}

function dnsFailure(url: string, host: string): { code: string; message: string } {
  return { code: '2108', message: `Error calling the endpoint '${url}'. Response status code: ` +
    `'NA - Unknown'. More details: Exception message: 'No such host is known. (${host}:443)'. ` +
    "Request didn't reach the server from the client." };
}

/** The activity ran for `tookMs` from `start` (the run's start may lie ahead of the clock). */
function toActivityRun(activity: Activity, r: ActivityResult, start: number, tookMs: number)
  : ActivityRunState {
  return {
    activityName: String(activity.name), activityType: String(activity.type),
    activityRunId: guid(), status: r.status, start: new Date(start).toISOString(),
    end: new Date(start + tookMs).toISOString(), durationInMs: tookMs,
    input: r.input, output: r.output, error: r.error, runtimeName: r.runtimeName,
  };
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

function stringValues(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, typeof v === 'string'
    ? v : JSON.stringify(v)]));
}

/** `hh:mm:ss` or `d.hh:mm:ss` to milliseconds. */
export function timespanMs(span: string): number {
  const m = String(span).match(/^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/);
  if (!m) return 60_000;
  const [, d = '0', h, min, s] = m;
  return (((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60 + Number(s)) * 1000;
}

/** Evaluates the few expression forms a URL uses: `@pipeline().parameters.X`, `@{...}`. */
function evaluate(value: unknown, pipeline: DevArtifact, run: PipelineRunState): string {
  const raw = typeof value === 'object' && value && 'value' in value
    ? String((value as { value: unknown }).value) : String(value ?? '');
  const param = (name: string) => String(run.parameters[name] ??
    pipeline.properties.parameters?.[name]?.defaultValue ?? '');
  const whole = raw.match(/^@pipeline\(\)\.parameters\.(\w+)$/);
  if (whole) return param(whole[1]);
  return raw.replace(/@\{pipeline\(\)\.parameters\.(\w+)\}/g, (_, n: string) => param(n));
}
