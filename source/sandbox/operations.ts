/**
 * ARM asynchronous operations as the SDK pollers expect them (AZURE-WIRE.md): the initial reply
 * carries `Azure-AsyncOperation` (and for POST actions a `Location` with `monitor=true`) on the
 * emulator's own base URL; the status URL answers `InProgress` at least once, then the final
 * status. When an operation completes, its effect (a resource turning `Succeeded`, a run command
 * finishing) is applied once, whether or not anyone polls.
 */
import { type Ctx, type Handler, type Reply, guid, json, match } from './http.js';
import type { Operation, OperationEffect, World } from './world.js';

/** What a new operation needs. */
export interface OperationStart {
  subscriptionId: string;
  provider: string;
  location?: string;
  /** Duration at timeScale 1, in milliseconds. */
  durationMs: number;
  effect: OperationEffect;
  outcome?: 'Succeeded' | 'Failed';
  error?: { code: string; message: string };
  result?: unknown;
}

type EffectHandler = (effect: OperationEffect) => void;

/** Finished operations kept for late pollers. */
const KEEP_OPERATIONS = 300;

/** Starts, settles and serves ARM operations. */
export class Operations {
  private readonly effectHandlers = new Map<string, EffectHandler>();

  constructor(
    private readonly world: World,
    private readonly timeScale: number,
  ) {
    this.on('provisioned', (effect) => {
      if (effect.kind !== 'provisioned') return;
      const resource = world.get(effect.resourceId);
      if (resource?.properties) resource.properties.provisioningState = 'Succeeded';
    });
  }

  /** Registers what to do when an operation with this effect kind completes. */
  on(kind: OperationEffect['kind'], handler: EffectHandler): void {
    this.effectHandlers.set(kind, handler);
  }

  /** Records a new operation; the caller saves the world. */
  start(input: OperationStart): Operation {
    const op: Operation = {
      id: guid(),
      subscriptionId: input.subscriptionId,
      provider: input.provider,
      location: (input.location ?? 'westeurope').replace(/\s+/g, '').toLowerCase(),
      startTime: new Date().toISOString(),
      doneAt: Date.now() + input.durationMs * this.timeScale,
      polls: 0,
      outcome: input.outcome ?? 'Succeeded',
      error: input.error,
      result: input.result,
      effect: input.effect,
      applied: false,
    };
    this.world.state.operations[op.id] = op;
    return op;
  }

  /** The headers of an initial LRO reply. `monitor` adds the Location for POST actions. */
  headers(ctx: Ctx, op: Operation, monitor = false): Record<string, string> {
    const url = this.statusUrl(ctx, op);
    const headers: Record<string, string> = {
      'azure-asyncoperation': url,
      'retry-after': this.retryAfter(op),
    };
    if (monitor) headers.location = `${url}&monitor=true`;
    return headers;
  }

  /** Applies the effects of every operation whose time has come. Returns true on changes. */
  settle(): boolean {
    let changed = this.prune();
    for (const op of Object.values(this.world.state.operations)) {
      if (op.applied || Date.now() < op.doneAt) continue;
      op.applied = true;
      this.effectHandlers.get(op.effect.kind)?.(op.effect);
      changed = true;
    }
    return changed;
  }

  /** Forgets the oldest finished operations beyond KEEP_OPERATIONS, so the world stays small. */
  private prune(): boolean {
    const ops = this.world.state.operations;
    const finished = Object.values(ops).filter((op) => op.applied)
      .sort((a, b) => a.doneAt - b.doneAt);
    const excess = finished.length - KEEP_OPERATIONS;
    for (const op of finished.slice(0, Math.max(0, excess))) delete ops[op.id];
    return excess > 0;
  }

  /** Serves the status and monitor URLs. */
  handler(): Handler {
    return (ctx) => {
      const m = match(
        '/subscriptions/:sub/providers/:provider/locations/:loc/operationStatuses/:id', ctx.path);
      if (!m || ctx.method !== 'GET') return undefined;
      return this.poll(ctx, m.id);
    };
  }

  private poll(ctx: Ctx, id: string): Reply {
    const op = this.world.state.operations[id];
    if (!op) {
      return json({ error: { code: 'OperationNotFound',
        message: `Operation '${id}' not found.` } }, 404);
    }

    op.polls += 1;
    this.world.save();
    const running = op.polls === 1 || !op.applied;
    if (ctx.query.get('monitor') === 'true') return this.monitor(ctx, op, running);
    return json(this.statusBody(op, running), 200, { 'retry-after': this.retryAfter(op) });
  }

  private monitor(ctx: Ctx, op: Operation, running: boolean): Reply {
    if (running) {
      return { status: 202, headers: { location: `${this.statusUrl(ctx, op)}&monitor=true`,
        'retry-after': this.retryAfter(op) } };
    }
    return json(op.result ?? {});
  }

  private statusBody(op: Operation, running: boolean): Record<string, unknown> {
    const body: Record<string, unknown> = {
      id: `/subscriptions/${op.subscriptionId}/providers/${op.provider}/locations/` +
        `${op.location}/operationStatuses/${op.id}`,
      name: op.id,
      status: running ? 'InProgress' : op.outcome,
      startTime: op.startTime,
    };
    const end = Math.max(op.doneAt, Date.parse(op.startTime));
    if (!running) body.endTime = new Date(end).toISOString();
    if (!running && op.outcome === 'Failed') body.error = op.error;
    return body;
  }

  private statusUrl(ctx: Ctx, op: Operation): string {
    const version = ctx.query.get('api-version') ?? '2024-01-01';
    return `${ctx.base}/subscriptions/${op.subscriptionId}/providers/${op.provider}` +
      `/locations/${op.location}/operationStatuses/${op.id}?api-version=${version}`;
  }

  private retryAfter(op: Operation): string {
    return this.timeScale > 0 && Date.now() < op.doneAt ? '1' : '0';
  }
}
