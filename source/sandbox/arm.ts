/**
 * The generic ARM resource protocol: GET, list (by parent, resource group or subscription, paged
 * with `nextLink`), PUT (create or update; synchronous or through an asynchronous operation) and
 * DELETE, for every resource kind registered by the provider modules. Provider modules add
 * validation (`accept`), computed fields (`present`) and actions through their own handlers,
 * which the server tries before this one.
 */
import { HttpFail, type Ctx, type Handler, type Reply, idKey, json } from './http.js';
import type { Operations } from './operations.js';
import type { ArmResource } from './scenario.js';
import type { World } from './world.js';

/** How one ARM resource type behaves. */
export interface ResourceKind {
  /** e.g. `Microsoft.Network/virtualNetworks/subnets` (the casing ARM returns). */
  type: string;
  /** Tracked resources need a location and can be listed by resource group. */
  tracked: boolean;
  /** Whether `GET /subscriptions/{id}/providers/{type}` lists them. */
  listBySubscription?: boolean;
  /** `async` answers 201/200 with Azure-AsyncOperation and provisions after `durationMs`. */
  put: 'sync' | 'async';
  delete: 'sync' | 'async';
  /** Simulated duration at timeScale 1. */
  durationMs?: number;
  /** Validates and completes a PUT body into the stored resource; may throw HttpFail. */
  accept?(ctx: Ctx, next: ArmResource, existing: ArmResource | undefined): ArmResource;
  /** Adds computed fields to a copy of the stored resource before it is returned. */
  present?(ctx: Ctx, copy: ArmResource): ArmResource;
  /** Refuses a delete (throw HttpFail) or cleans up service-side state. */
  beforeDelete?(ctx: Ctx, stored: ArmResource): void;
}

/** A parsed ARM path. */
export interface ArmPath {
  subscriptionId: string;
  resourceGroup?: string;
  provider: string;
  /** Segments after the provider: type, name, type, name... */
  segments: string[];
}

/** Splits `/subscriptions/{s}[/resourceGroups/{rg}]/providers/{ns}/...`. */
export function parseArmPath(path: string): ArmPath | undefined {
  const parts = path.split('/').filter(Boolean);
  if (parts[0]?.toLowerCase() !== 'subscriptions' || parts.length < 4) return undefined;

  let at = 2;
  let resourceGroup: string | undefined;
  if (parts[2].toLowerCase() === 'resourcegroups') {
    resourceGroup = parts[3];
    at = 4;
  }
  if (parts[at]?.toLowerCase() !== 'providers' || !parts[at + 1]) return undefined;
  return {
    subscriptionId: parts[1],
    resourceGroup,
    provider: parts[at + 1],
    segments: parts.slice(at + 2),
  };
}

/** The full ARM type of a path's segments (names dropped). */
export function typeOf(p: ArmPath): string {
  const types = p.segments.filter((_, i) => i % 2 === 0);
  return [p.provider, ...types].join('/');
}

/** Strips internal (`_`-prefixed) keys from a resource copy. */
export function publicCopy(resource: ArmResource): ArmResource {
  const copy = structuredClone(resource);
  for (const key of Object.keys(copy)) if (key.startsWith('_')) delete copy[key];
  return copy;
}

/** Serves the generic protocol for the registered kinds. */
export class ArmResources {
  private readonly kinds = new Map<string, ResourceKind>();

  constructor(
    private readonly world: World,
    private readonly operations: Operations,
    private readonly pageSize: number,
  ) {}

  register(kind: ResourceKind): void {
    this.kinds.set(kind.type.toLowerCase(), kind);
  }

  kindOf(type: string): ResourceKind | undefined {
    return this.kinds.get(type.toLowerCase());
  }

  /** A stored resource as a GET would return it. */
  present(ctx: Ctx, resource: ArmResource): ArmResource {
    const kind = this.kindOf(resource.type);
    const copy = publicCopy(resource);
    return kind?.present ? kind.present(ctx, copy) : copy;
  }

  /** Throws the ARM 404 for a missing resource. */
  missing(id: string): never {
    const p = parseArmPath(id);
    const what = p ? `${typeOf(p)}/${p.segments.filter((_, i) => i % 2 === 1).join('/')}` : id;
    throw new HttpFail(404, 'ResourceNotFound',
      `The Resource '${what}' under resource group '${p?.resourceGroup ?? ''}' was not found. ` +
      'For more details please go to https://aka.ms/ARMResourceNotFoundFix');
  }

  /** Pages a list reply with a `nextLink` that carries the api-version. */
  page(ctx: Ctx, items: unknown[]): Reply {
    const skip = Number(ctx.query.get('$skiptoken') ?? 0) || 0;
    const value = items.slice(skip, skip + this.pageSize);
    const body: Record<string, unknown> = { value };
    if (skip + this.pageSize < items.length) {
      const q = new URLSearchParams(ctx.query);
      q.set('$skiptoken', String(skip + this.pageSize));
      body.nextLink = `${ctx.base}${ctx.path}?${q.toString()}`;
    }
    return json(body);
  }

  handler(): Handler {
    return (ctx) => this.route(ctx);
  }

  private route(ctx: Ctx): Reply | undefined {
    const p = parseArmPath(ctx.path);
    if (!p || p.segments.length === 0) return undefined;

    const kind = this.kindOf(typeOf(p));
    if (!kind) {
      throw new HttpFail(400, 'InvalidResourceType',
        `The resource type '${typeOf(p)}' could not be found in the namespace ` +
        `'${p.provider}' for api version '${ctx.query.get('api-version')}'.`);
    }
    this.checkScope(p);

    const isCollection = p.segments.length % 2 === 1;
    if (isCollection) return ctx.method === 'GET' ? this.list(ctx, p, kind) : undefined;
    if (ctx.method === 'GET') return this.get(ctx);
    if (ctx.method === 'PUT') return this.put(ctx, p, kind);
    if (ctx.method === 'DELETE') return this.delete(ctx, p, kind);
    return undefined;
  }

  private checkScope(p: ArmPath): void {
    const sub = `/subscriptions/${p.subscriptionId}`;
    if (!Object.keys(this.world.state.resources).some((k) => k.startsWith(idKey(sub) + '/'))) {
      throw new HttpFail(404, 'SubscriptionNotFound',
        `The subscription '${p.subscriptionId}' could not be found.`);
    }
    if (p.resourceGroup && !this.world.get(`${sub}/resourceGroups/${p.resourceGroup}`)) {
      throw new HttpFail(404, 'ResourceGroupNotFound',
        `Resource group '${p.resourceGroup}' could not be found.`);
    }
  }

  private get(ctx: Ctx): Reply {
    const stored = this.world.get(ctx.path);
    if (!stored) this.missing(ctx.path);
    return json(this.present(ctx, stored));
  }

  private list(ctx: Ctx, p: ArmPath, kind: ResourceKind): Reply {
    if (!p.resourceGroup && !kind.listBySubscription) this.missing(ctx.path);
    const parent = ctx.path.split('/').filter(Boolean).slice(0, -1);
    const scope = p.segments.length === 1
      ? `/subscriptions/${p.subscriptionId}` +
        (p.resourceGroup ? `/resourceGroups/${p.resourceGroup}` : '')
      : `/${parent.join('/')}`;
    if (p.segments.length > 1 && !this.world.get(scope)) this.missing(scope);

    const items = this.world.list(scope, kind.type).map((r) => this.present(ctx, r));
    return this.page(ctx, items);
  }

  private put(ctx: Ctx, p: ArmPath, kind: ResourceKind): Reply {
    const input = (ctx.body ?? {}) as Partial<ArmResource>;
    const existing = this.world.get(ctx.path);
    this.checkParent(ctx.path, p);
    if (kind.tracked && !input.location && !existing?.location) {
      throw new HttpFail(400, 'LocationRequired',
        'The location property is required for this definition.');
    }

    const next = this.compose(ctx, kind, input, existing);
    const stored = kind.accept ? kind.accept(ctx, next, existing) : next;
    return this.finishPut(ctx, p, kind, stored, existing !== undefined);
  }

  private compose(ctx: Ctx, kind: ResourceKind, input: Partial<ArmResource>,
    existing: ArmResource | undefined): ArmResource {
    const name = ctx.path.split('/').filter(Boolean).pop() as string;
    const internal = Object.fromEntries(
      Object.entries(existing ?? {}).filter(([k]) => k.startsWith('_')));
    const next: ArmResource = {
      ...structuredClone(input),
      ...internal,
      id: existing?.id ?? ctx.path.replace(/\/+$/, ''),
      name: existing?.name ?? name,
      type: kind.type,
      properties: structuredClone(input.properties ?? {}),
    };
    if (kind.tracked) next.location = existing?.location ?? input.location;
    return next;
  }

  private finishPut(ctx: Ctx, p: ArmPath, kind: ResourceKind, stored: ArmResource,
    existed: boolean): Reply {
    const status = existed ? 200 : 201;
    if (kind.put === 'sync') {
      stored.properties = { ...stored.properties, provisioningState: 'Succeeded' };
      this.world.put(stored);
      this.world.save();
      return json(this.present(ctx, stored), status);
    }

    stored.properties = { ...stored.properties,
      provisioningState: existed ? 'Updating' : 'Creating' };
    this.world.put(stored);
    const op = this.operations.start({
      subscriptionId: p.subscriptionId,
      provider: p.provider,
      location: stored.location ?? this.parentLocation(stored.id),
      durationMs: kind.durationMs ?? 1000,
      effect: { kind: 'provisioned', resourceId: stored.id },
    });
    this.world.save();
    return json(this.present(ctx, stored), status, this.operations.headers(ctx, op));
  }

  private checkParent(path: string, p: ArmPath): void {
    if (p.segments.length <= 2) return;
    const parent = `/${path.split('/').filter(Boolean).slice(0, -2).join('/')}`;
    if (!this.world.get(parent)) {
      const parentName = parent.split('/').pop();
      throw new HttpFail(404, 'ParentResourceNotFound',
        `Can not perform requested operation on nested resource. Parent resource ` +
        `'${parentName}' not found.`);
    }
  }

  private parentLocation(id: string): string | undefined {
    const parts = id.split('/').filter(Boolean);
    for (let n = parts.length - 2; n >= 4; n -= 2) {
      const parent = this.world.get(`/${parts.slice(0, n).join('/')}`);
      if (parent?.location) return parent.location;
    }
    return undefined;
  }

  private delete(ctx: Ctx, p: ArmPath, kind: ResourceKind): Reply {
    const stored = this.world.get(ctx.path);
    if (!stored) return { status: 204 };

    kind.beforeDelete?.(ctx, stored);
    this.removeTree(stored.id);
    if (kind.delete === 'sync') {
      this.world.save();
      return { status: 200 };
    }
    const op = this.operations.start({
      subscriptionId: p.subscriptionId,
      provider: p.provider,
      location: stored.location ?? this.parentLocation(stored.id),
      durationMs: kind.durationMs ?? 1000,
      effect: { kind: 'none' },
    });
    this.world.save();
    return { status: 202, headers: this.operations.headers(ctx, op, true) };
  }

  private removeTree(id: string): void {
    const prefix = `${idKey(id)}/`;
    for (const key of Object.keys(this.world.state.resources)) {
      if (key.startsWith(prefix)) delete this.world.state.resources[key];
    }
    this.world.remove(id);
  }
}
