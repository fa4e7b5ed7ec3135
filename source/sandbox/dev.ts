/**
 * The workspace dev endpoint (`connectivityEndpoints.dev` = `{base}/dev/{workspace}`): linked
 * services and pipelines with ETags, pipeline runs and activity runs, and the operation results
 * the artifacts SDK polls after a PUT or DELETE.
 *
 * Secrets: a GET returns every SecureString value as `**********`. A PUT stores what it is given,
 * so writing a GET body back stores the mask itself and the real secret is lost, exactly as the
 * service does. A workspace with `publicNetworkAccess: "Disabled"` drops every connection that
 * reaches its dev endpoint from outside (F08).
 */
import {
  checkIfMatch, HttpFail, type Ctx, type Handler, type Reply, guid, idKey, json, match,
} from './http.js';
import type { ArmResources } from './arm.js';
import type { ArmResource } from './scenario.js';
import { DROP_CONNECTION } from './server.js';
import type { DevArtifact, DevWorkspace, PipelineRunState, World } from './world.js';
import { newEtag } from './world.js';

/** Operation results kept for late pollers, per workspace. */
const KEEP_OPERATIONS = 200;

/** The mask the service shows instead of a secret. */
export const SECRET_MASK = '**********';

/** Runs pipelines; implemented by pipelines.ts. */
export interface PipelineRunner {
  start(workspace: ArmResource, pipeline: DevArtifact, parameters: Record<string, unknown>)
    : PipelineRunState;
  refresh(workspace: ArmResource, run: PipelineRunState): void;
}

interface DevDeps {
  world: World;
  arm: ArmResources;
  runner: PipelineRunner;
  timeScale: number;
}

type ArtifactKind = 'linkedservices' | 'pipelines';

/** Returns the dev endpoint handler. */
export function devEndpoint(deps: DevDeps): Handler {
  return (ctx) => {
    const m = ctx.path.match(/^\/dev\/([^/]+)(\/.*)?$/i);
    if (!m) return undefined;
    const workspace = findWorkspace(deps.world, m[1]);
    if (!workspace) {
      throw new HttpFail(404, 'WorkspaceNotFound', `Workspace '${m[1]}' was not found.`);
    }
    if (workspace.properties?.publicNetworkAccess === 'Disabled') {
      return { status: 0, headers: { [DROP_CONNECTION]: '1' } };
    }
    return route(deps, ctx, workspace, m[2] ?? '/');
  };
}

/** Deep copy of `value` with every SecureString value replaced by the mask. */
export function maskSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map(maskSecrets) as T;
  if (!value || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) copy[k] = maskSecrets(v);
  if (copy.type === 'SecureString' && 'value' in copy) copy.value = SECRET_MASK;
  return copy as T;
}

/** Every SecureString in `value` as `[JSON pointer, secret]`. */
export function findSecrets(value: unknown, pointer = ''): Array<[string, string]> {
  if (!value || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  if (record.type === 'SecureString' && typeof record.value === 'string') {
    return [[`${pointer}/value`, record.value]];
  }
  return Object.entries(record).flatMap(([k, v]) =>
    findSecrets(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
}

function findWorkspace(world: World, name: string): ArmResource | undefined {
  return Object.values(world.state.resources).find((r) =>
    r.type.toLowerCase() === 'microsoft.synapse/workspaces' &&
    r.name.toLowerCase() === name.toLowerCase());
}

function route(deps: DevDeps, ctx: Ctx, ws: ArmResource, rest: string): Reply | undefined {
  const dev = deps.world.dev(ws.name);
  for (const kind of ['linkedservices', 'pipelines'] as const) {
    if (match(`/${kind}`, rest) && ctx.method === 'GET') return listArtifacts(deps, ctx, ws, kind);
    const one = match(`/${kind}/:name`, rest);
    if (one) return artifact(deps, ctx, ws, kind, one.name);
  }

  const createRun = match('/pipelines/:name/createRun', rest);
  if (createRun && ctx.method === 'POST') return startRun(deps, ctx, ws, createRun.name);
  const run = match('/pipelineruns/:id', rest);
  if (run && ctx.method === 'GET') return json(runBody(deps, ws, getRun(dev, run.id)));
  const cancel = match('/pipelineruns/:id/cancel', rest);
  if (cancel && ctx.method === 'POST') return cancelRun(deps, ws, getRun(dev, cancel.id));
  const activities = match('/pipelines/:name/pipelineruns/:id/queryActivityruns', rest);
  if (activities && ctx.method === 'POST') {
    return json(activityRuns(deps, ws, getRun(dev, activities.id)));
  }
  if (match('/queryPipelineRuns', rest) && ctx.method === 'POST') return queryRuns(deps, ws);

  const op = match('/operationResults/:id', rest);
  if (op && ctx.method === 'GET') return operationResult(deps, ctx, ws, op.id);
  return runtimes(deps, ctx, ws, rest);
}

function store(dev: DevWorkspace, kind: ArtifactKind): Record<string, DevArtifact> {
  return kind === 'linkedservices' ? dev.linkedServices : dev.pipelines;
}

function artifactBody(ws: ArmResource, kind: ArtifactKind, a: DevArtifact) {
  return {
    id: `${ws.id}/${kind}/${a.name}`,
    name: a.name,
    type: `Microsoft.Synapse/workspaces/${kind}`,
    properties: maskSecrets(a.properties),
    etag: a.etag.replace(/"/g, ''),
  };
}

function listArtifacts(deps: DevDeps, ctx: Ctx, ws: ArmResource, kind: ArtifactKind): Reply {
  const items = Object.values(store(deps.world.dev(ws.name), kind))
    .map((a) => artifactBody(ws, kind, a));
  return deps.arm.page(ctx, items);
}

function artifact(deps: DevDeps, ctx: Ctx, ws: ArmResource, kind: ArtifactKind, name: string)
  : Reply | undefined {
  const items = store(deps.world.dev(ws.name), kind);
  const existing = items[name.toLowerCase()];
  if (ctx.method === 'GET') {
    if (!existing) throw artifactMissing(kind, name);
    const ifNoneMatch = ctx.headers['if-none-match'];
    if (ifNoneMatch && ifNoneMatch.replace(/"/g, '') === existing.etag.replace(/"/g, '')) {
      return { status: 304 };
    }
    return json(artifactBody(ws, kind, existing));
  }
  if (ctx.method === 'PUT') return putArtifact(deps, ctx, ws, kind, name);
  if (ctx.method === 'DELETE') return deleteArtifact(deps, ctx, ws, kind, name);
  return undefined;
}

function artifactMissing(kind: ArtifactKind, name: string): HttpFail {
  const what = kind === 'linkedservices' ? 'LinkedService' : 'Pipeline';
  return new HttpFail(404, `${what}NotFound`, `${what} '${name}' not found.`);
}

function putArtifact(deps: DevDeps, ctx: Ctx, ws: ArmResource, kind: ArtifactKind,
  name: string): Reply {
  const items = store(deps.world.dev(ws.name), kind);
  const existing = items[name.toLowerCase()];
  checkIfMatch(ctx, existing?.etag,
    'The ETag given in If-Match does not match the current version of the resource.');
  const properties = (ctx.body as { properties?: Record<string, any> } | undefined)?.properties;
  if (!properties || typeof properties !== 'object') {
    throw new HttpFail(400, 'BadRequest', 'The request body must carry properties.');
  }
  validateArtifact(deps.world, ws, kind, properties);

  items[name.toLowerCase()] = { name: existing?.name ?? name, properties, etag: newEtag() };
  return accepted(deps, ctx, ws, { kind, name, polls: 0 });
}

function deleteArtifact(deps: DevDeps, ctx: Ctx, ws: ArmResource, kind: ArtifactKind,
  name: string): Reply {
  const items = store(deps.world.dev(ws.name), kind);
  if (!items[name.toLowerCase()]) return { status: 204 };
  if (kind === 'linkedservices') checkUnused(deps.world, ws, name);
  delete items[name.toLowerCase()];
  return accepted(deps, ctx, ws, { kind, name, polls: 0 });
}

function accepted(deps: DevDeps, ctx: Ctx, ws: ArmResource,
  op: { kind: ArtifactKind; name: string; polls: number }): Reply {
  const id = guid();
  const ops = deps.world.dev(ws.name).operations;
  ops[id] = op;
  for (const old of Object.keys(ops).slice(0, -KEEP_OPERATIONS)) delete ops[old];
  deps.world.save();
  const version = ctx.query.get('api-version') ?? '2020-12-01';
  return { status: 202, headers: {
    location: `${ctx.base}/dev/${ws.name}/operationResults/${id}?api-version=${version}`,
    'retry-after': deps.timeScale > 0 ? '1' : '0',
  } };
}


function runtimeExists(world: World, ws: ArmResource, name: string): boolean {
  return world.get(`${ws.id}/integrationruntimes/${name}`) !== undefined;
}

function validateArtifact(world: World, ws: ArmResource, kind: ArtifactKind,
  properties: Record<string, any>): void {
  if (kind === 'linkedservices' && typeof properties.type !== 'string') {
    throw new HttpFail(400, 'BadRequest', 'The linked service type is required.');
  }
  const refs = kind === 'linkedservices'
    ? [properties.connectVia?.referenceName]
    : (properties.activities ?? []).map((a: any) =>
      a?.typeProperties?.connectVia?.referenceName ?? a?.connectVia?.referenceName);
  for (const ref of refs) {
    if (typeof ref === 'string' && !runtimeExists(world, ws, ref)) {
      throw new HttpFail(400, 'BadRequest',
        `The integration runtime '${ref}' referenced by the ${kind === 'linkedservices'
          ? 'linked service' : 'pipeline'} does not exist in workspace '${ws.name}'.`);
    }
  }
}

function checkUnused(world: World, ws: ArmResource, name: string): void {
  const needle = `"referencename":"${name.toLowerCase()}"`;
  const users = Object.values(world.dev(ws.name).pipelines).filter((p) =>
    JSON.stringify(p.properties).toLowerCase().includes(needle));
  if (users.length > 0) {
    throw new HttpFail(400, 'BadRequest',
      `Linked service '${name}' is referenced by pipeline '${users[0].name}'.`);
  }
}

function operationResult(deps: DevDeps, ctx: Ctx, ws: ArmResource, id: string): Reply {
  const dev = deps.world.dev(ws.name);
  const op = dev.operations[id];
  if (!op) throw new HttpFail(404, 'OperationNotFound', `Operation '${id}' was not found.`);

  op.polls += 1;
  deps.world.save();
  if (op.polls === 1) {
    return json({ status: 'InProgress' }, 202, {
      location: `${ctx.base}${ctx.path}?${ctx.query.toString()}`,
      'retry-after': deps.timeScale > 0 ? '1' : '0',
    });
  }
  const current = store(dev, op.kind)[op.name.toLowerCase()];
  return current ? json(artifactBody(ws, op.kind, current)) : { status: 200 };
}

function getRun(dev: DevWorkspace, runId: string): PipelineRunState {
  const run = dev.runs[runId];
  if (!run) {
    throw new HttpFail(404, 'PipelineRunNotFound', `Pipeline run '${runId}' was not found.`);
  }
  return run;
}

function startRun(deps: DevDeps, ctx: Ctx, ws: ArmResource, name: string): Reply {
  const pipeline = deps.world.dev(ws.name).pipelines[name.toLowerCase()];
  if (!pipeline) throw artifactMissing('pipelines', name);
  const parameters = (ctx.body ?? {}) as Record<string, unknown>;
  const run = deps.runner.start(ws, pipeline, parameters);
  deps.world.save();
  return json({ runId: run.runId }, 202);
}

function runBody(deps: DevDeps, ws: ArmResource, run: PipelineRunState) {
  deps.runner.refresh(ws, run);
  const end = run.end;
  const start = new Date(run.startAt).toISOString();
  return {
    runId: run.runId,
    runGroupId: run.runId,
    isLatest: true,
    pipelineName: run.pipelineName,
    parameters: Object.fromEntries(Object.entries(run.parameters)
      .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
    invokedBy: { id: idKey(run.runId).replace(/-/g, ''), name: 'Manual',
      invokedByType: 'Manual' },
    runStart: run.status === 'Queued' ? undefined : start,
    runEnd: end,
    durationInMs: end ? Date.parse(end) - run.startAt : undefined,
    status: run.status,
    message: run.message,
    lastUpdated: end ?? new Date().toISOString(),
    annotations: [],
  };
}

function cancelRun(deps: DevDeps, ws: ArmResource, run: PipelineRunState): Reply {
  deps.runner.refresh(ws, run);
  if (run.status === 'Queued' || run.status === 'InProgress') {
    run.status = 'Cancelled';
    run.message = 'Pipeline run cancelled by the user.';
    run.end = new Date().toISOString();
    deps.world.save();
  }
  return { status: 200 };
}

function activityRuns(deps: DevDeps, ws: ArmResource, run: PipelineRunState) {
  deps.runner.refresh(ws, run);
  const done = run.status !== 'Queued' && run.status !== 'InProgress';
  const value = run.activities.map((a) => ({
    activityName: a.activityName,
    activityType: a.activityType,
    activityRunId: a.activityRunId,
    pipelineName: run.pipelineName,
    pipelineRunId: run.runId,
    linkedServiceName: '',
    status: done ? a.status : 'InProgress',
    activityRunStart: a.start,
    activityRunEnd: done ? a.end : undefined,
    durationInMs: done ? a.durationInMs : undefined,
    retryAttempt: null,
    input: a.input,
    output: done ? a.output ?? {} : {},
    error: (done && a.error) || { errorCode: '', message: '', failureType: '',
      target: a.activityName },
    userProperties: {},
  }));
  return { value };
}

function queryRuns(deps: DevDeps, ws: ArmResource): Reply {
  const runs = Object.values(deps.world.dev(ws.name).runs).map((r) => runBody(deps, ws, r));
  return json({ value: runs });
}

function runtimes(deps: DevDeps, ctx: Ctx, ws: ArmResource, rest: string): Reply | undefined {
  if (ctx.method !== 'GET') return undefined;
  if (match('/integrationRuntimes', rest)) {
    const items = deps.world.list(ws.id, 'Microsoft.Synapse/workspaces/integrationruntimes');
    return json({ value: items.map((r) => deps.arm.present(ctx, r)) });
  }
  const one = match('/integrationRuntimes/:name', rest);
  if (!one) return undefined;
  const ir = deps.world.get(`${ws.id}/integrationruntimes/${one.name}`);
  if (!ir) throw new HttpFail(404, 'IntegrationRuntimeNotFound',
    `Integration runtime '${one.name}' was not found.`);
  return json(deps.arm.present(ctx, ir));
}
