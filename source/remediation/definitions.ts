/**
 * Linked service and pipeline definitions as the dev endpoint stores them, byte for byte.
 *
 * The typed SDK operations deserialize into flat objects and serialize back through their
 * mappers, which silently drop fields the SDK version does not know (a Web activity's
 * `httpRequestTimeout`, unknown `typeProperties` keys). A rewrite must keep every field, so
 * reads keep the raw body (the typed GET's `onResponse`) and writes send our own JSON through
 * the same SDK client's pipeline (`sendRequest`: auth, retries, loopback guard), following the
 * dev endpoint's 202 + Location protocol. The JSON helpers here find masked secrets and compare
 * definitions canonically.
 */
import { createPipelineRequest, RestError } from '@azure/core-rest-pipeline';
import type { PipelineResponse } from '@azure/core-rest-pipeline';
import type { ArtifactsClient } from '@azure/synapse-artifacts';
import type { BackedUpKind } from '../engine/step.js';
import { sleep as resourceSleep } from './resources.js';

const API_VERSION = '2020-12-01';

/** What GET returns for a definition, kept exactly. */
export interface RawDefinition {
  kind: BackedUpKind;
  name: string;
  /** The body bytes as the service sent them. */
  text: string;
  etag?: string;
  /** `text` parsed; wire shape (nested `typeProperties`). */
  body: JsonObject;
}

export type JsonObject = { [key: string]: unknown };

/** The value the service returns in place of a SecureString's real value. */
export const SECRET_MASK = '**********';

/** Reference to a runtime, as `connectVia` holds it. */
export function runtimeReference(runtimeName: string): JsonObject {
  return { referenceName: runtimeName, type: 'IntegrationRuntimeReference' };
}

/** The parts of the SDK's raw response a read keeps. */
interface RawResponse {
  bodyAsText?: string | null;
  headers: { get(name: string): string | undefined };
}

/** GETs a definition, keeping the raw body and ETag. */
export async function readDefinition(
  client: ArtifactsClient,
  kind: BackedUpKind,
  name: string,
): Promise<RawDefinition> {
  let raw: { text?: string; etag?: string } = {};
  const onResponse = (response: RawResponse) => {
    raw = { text: response.bodyAsText ?? undefined, etag: response.headers.get('etag') };
  };
  if (kind === 'linked-service') {
    await client.linkedServiceOperations.getLinkedService(name, { onResponse });
  } else {
    await client.pipelineOperations.getPipeline(name, { onResponse });
  }

  return toRawDefinition(kind, name, raw.text ?? '{}', raw.etag);
}

function toRawDefinition(
  kind: BackedUpKind,
  name: string,
  text: string,
  headerEtag?: string,
): RawDefinition {
  const body = JSON.parse(text) as JsonObject;
  const etag = headerEtag ?? (typeof body.etag === 'string' ? body.etag : undefined);
  return { kind, name, text, etag, body };
}

function collectionUrl(client: ArtifactsClient, kind: BackedUpKind, name: string): string {
  const collection = kind === 'linked-service' ? 'linkedservices' : 'pipelines';
  const base = client.endpoint.replace(/\/+$/, '');
  return `${base}/${collection}/${encodeURIComponent(name)}?api-version=${API_VERSION}`;
}

/** Options for a raw write. */
export interface WriteOptions {
  /** The ETag the write is conditional on; absent for a create. */
  ifMatch?: string;
  signal?: AbortSignal;
  /** Upper bound for one poll wait, in ms (the service's Retry-After is honoured below it). */
  maxPollDelayMs?: number;
  /** Give up on the operation after this long (default 10 min). */
  deadlineMs?: number;
}

/**
 * PUTs `{ properties }` exactly as given and waits for the dev endpoint's operation to end.
 * Returns the stored definition as the service reports it afterwards.
 */
export async function writeDefinition(
  client: ArtifactsClient,
  kind: BackedUpKind,
  name: string,
  properties: JsonObject,
  options: WriteOptions = {},
): Promise<RawDefinition> {
  const headers: Record<string, string> = { 'content-type': 'application/json',
    accept: 'application/json' };
  if (options.ifMatch) headers['if-match'] = options.ifMatch;
  const request = createPipelineRequest({
    url: collectionUrl(client, kind, name),
    method: 'PUT',
    body: JSON.stringify({ properties }),
    abortSignal: options.signal,
  });
  for (const [key, value] of Object.entries(headers)) request.headers.set(key, value);

  let response = await client.sendRequest(request);
  assertOk(response);
  response = await waitForOperation(client, response, options);

  return readDefinition(client, kind, name);
}

async function waitForOperation(
  client: ArtifactsClient,
  first: PipelineResponse,
  options: WriteOptions,
): Promise<PipelineResponse> {
  let response = first;
  const location = first.headers.get('location');
  const deadline = Date.now() + (options.deadlineMs ?? 10 * 60_000);
  while (response.status === 202 && location) {
    if (Date.now() > deadline) throw operationTooSlow(location);
    await sleep(pollDelay(response, options.maxPollDelayMs ?? 5000), options.signal);
    const poll = createPipelineRequest({ url: location, method: 'GET',
      abortSignal: options.signal });
    response = await client.sendRequest(poll);
    assertOk(response);
    if (isFailedOperation(response)) throwOperationFailed(response);
  }
  return response;
}

function operationTooSlow(location: string): Error {
  return new Error(`The long-running operation has failed. Timeout. It was still running ` +
    `when shir-doctor stopped waiting (${location.split('?')[0]}).`);
}

function pollDelay(response: PipelineResponse, maxMs: number): number {
  const seconds = Number(response.headers.get('retry-after') ?? '0');
  return Number.isFinite(seconds) ? Math.min(seconds * 1000, maxMs) : 0;
}

function isFailedOperation(response: PipelineResponse): boolean {
  const body = parseJson(response.bodyAsText);
  const status = typeof body?.status === 'string' ? body.status : '';
  return status === 'Failed' || status === 'Canceled';
}

function throwOperationFailed(response: PipelineResponse): never {
  const body = parseJson(response.bodyAsText);
  const error = (body?.error ?? {}) as { code?: string; message?: string };
  throw new Error(
    `The long-running operation has failed. ${error.code ?? 'Failed'}. ${error.message ?? ''}`,
  );
}

/** Turns a 4xx/5xx reply into the same RestError a typed SDK call would throw. */
function assertOk(response: PipelineResponse): void {
  if (response.status < 400) return;

  const body = parseJson(response.bodyAsText);
  const error = (body?.error ?? body ?? {}) as { code?: string; message?: string };
  throw new RestError(error.message ?? `The service answered ${response.status}.`, {
    code: error.code,
    statusCode: response.status,
    request: response.request,
    response,
  });
}

function parseJson(text: string | null | undefined): JsonObject | undefined {
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return resourceSleep(ms, signal);
}

/** Deletes a pipeline (the temporary test pipeline); a missing one counts as deleted. */
export async function deletePipeline(client: ArtifactsClient, name: string): Promise<void> {
  await client.pipelineOperations.beginDeletePipelineAndWait(name, { updateIntervalInMs: 50 });
}

// ---- JSON helpers ----------------------------------------------------------------------------

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `properties` object of a wire body (empty when missing). */
export function propertiesOf(body: JsonObject): JsonObject {
  return isObject(body.properties) ? body.properties : {};
}

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapeToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function tokensOf(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map(unescapeToken);
}

/** Reads the value at a JSON pointer, or undefined. */
export function getAt(root: unknown, pointer: string): unknown {
  let current: unknown = root;
  for (const token of tokensOf(pointer)) {
    if (Array.isArray(current)) current = current[Number(token)];
    else if (isObject(current)) current = current[token];
    else return undefined;
  }
  return current;
}

/** Sets the value at a JSON pointer whose parent exists; returns false when it does not. */
export function setAt(root: unknown, pointer: string, value: unknown): boolean {
  const tokens = tokensOf(pointer);
  const last = tokens.pop();
  const parent = getAt(root, tokens.map((t) => `/${escapeToken(t)}`).join(''));
  if (last === undefined) return false;
  if (Array.isArray(parent)) parent[Number(last)] = value;
  else if (isObject(parent)) parent[last] = value;
  else return false;
  return true;
}

/** Removes the value at a JSON pointer, if there is one. */
export function removeAt(root: unknown, pointer: string): void {
  const tokens = tokensOf(pointer);
  const last = tokens.pop();
  const parent = getAt(root, tokens.map((t) => `/${escapeToken(t)}`).join(''));
  if (last !== undefined && isObject(parent)) delete parent[last];
}

/**
 * JSON pointers (relative to `properties`) of every SecureString the service returned masked.
 */
export function findMaskedSecrets(properties: unknown, pointer = ''): string[] {
  if (Array.isArray(properties)) {
    return properties.flatMap((item, index) => findMaskedSecrets(item, `${pointer}/${index}`));
  }
  if (!isObject(properties)) return [];
  if (properties.type === 'SecureString' && properties.value === SECRET_MASK) return [pointer];

  return Object.entries(properties).flatMap(([key, value]) =>
    findMaskedSecrets(value, `${pointer}/${escapeToken(key)}`),
  );
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const sorted: JsonObject = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]);
  return sorted;
}

/** A deep copy of `properties` without the values at `pointers`. */
export function withoutPointers(properties: JsonObject, pointers: readonly string[]): JsonObject {
  const copy = structuredClone(properties);
  for (const pointer of pointers) removeAt(copy, pointer);
  return copy;
}

/**
 * True when two definitions' properties are the same once the values at `pointers` (the
 * `connectVia` slots shir-doctor changes) are ignored.
 */
export function isSameExcept(
  left: JsonObject,
  right: JsonObject,
  pointers: readonly string[],
): boolean {
  return canonicalJson(withoutPointers(left, pointers)) ===
    canonicalJson(withoutPointers(right, pointers));
}

/** A Web activity found in a pipeline, with its JSON pointer under `properties`. */
export interface FoundActivity {
  pointer: string;
  activity: JsonObject;
}

const NESTED_ACTIVITY_KEYS = ['activities', 'ifTrueActivities', 'ifFalseActivities',
  'defaultActivities'];

/** Every Web activity in a pipeline's properties, including those inside containers. */
export function findWebActivities(properties: JsonObject): FoundActivity[] {
  return walkActivities(properties.activities, '/activities');
}

function walkActivities(list: unknown, pointer: string): FoundActivity[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((activity, index) => {
    if (!isObject(activity)) return [];
    const here = `${pointer}/${index}`;
    const own = activity.type === 'WebActivity' ? [{ pointer: here, activity }] : [];
    return [...own, ...nestedActivities(activity, here)];
  });
}

function nestedActivities(activity: JsonObject, pointer: string): FoundActivity[] {
  const typeProperties = isObject(activity.typeProperties) ? activity.typeProperties : {};
  const base = `${pointer}/typeProperties`;
  const found = NESTED_ACTIVITY_KEYS.flatMap((key) =>
    walkActivities(typeProperties[key], `${base}/${key}`),
  );
  const cases = Array.isArray(typeProperties.cases) ? typeProperties.cases : [];
  cases.forEach((item, index) => {
    if (!isObject(item)) return;
    found.push(...walkActivities(item.activities, `${base}/cases/${index}/activities`));
  });
  return found;
}
