/**
 * Backup and rewire: point the affected linked services and Web activities at the SHIR,
 * changing nothing but `connectVia`.
 *
 * Protocol, per definition:
 * 1. `backup` keeps the exact bytes and ETag the service returned, before anything changes
 *    (the first backup of a session is the original; a resume never replaces it).
 * 2. `rewire` GETs the definition again. An ETag other than the backup's means someone changed
 *    it since: that item stops with a conflict and nothing is overwritten — unless it is our own
 *    earlier write (a resumed session), which counts as done.
 * 3. Every SecureString the service returned masked is put back from the SecretSource; when a
 *    value cannot be had, the item is not written at all (writing the mask back would destroy
 *    the secret).
 * 4. PUT with If-Match, then GET and prove that everything but the changed `connectVia` slots
 *    equals the backup, canonically.
 * Every write is journaled (intent, then outcome with the new ETag).
 */
import type { ArtifactsClient } from '@azure/synapse-artifacts';
import { toDoctorError } from '../azure/errors.js';
import { DoctorError, ExitCode, isDoctorError } from '../engine/errors.js';
import { registerSecret } from '../engine/redact.js';
import type { BackedUpKind, Journal, Step, StepIO, StepOutcome } from '../engine/step.js';
import { classifyWebActivity, webActivitiesOf } from './classify.js';
import type { FixContext, SecretSource } from './context.js';
import {
  canonicalJson,
  findMaskedSecrets,
  getAt,
  isSameExcept,
  propertiesOf,
  readDefinition,
  runtimeReference,
  setAt,
  withoutPointers,
  writeDefinition,
  type JsonObject,
  type RawDefinition,
} from './definitions.js';

/** One definition the session changes. */
export interface RewireTarget {
  kind: BackedUpKind;
  name: string;
}

/** What the journal keeps about a backup, for the rewire and rollback of the same session. */
export interface BackupRecord {
  etag?: string;
  /** The raw body as first read (secrets masked by the service, so nothing secret). */
  text: string;
  path: string;
}

export function backupKey(item: RewireTarget): string {
  return `backup:${item.kind}:${item.name}`;
}

/** Journal key holding the ETag our write produced. */
export function writtenKey(item: RewireTarget): string {
  return `rewired:${item.kind}:${item.name}`;
}

/** The definitions the plan decided to rewire. */
export function rewireTargets(context: FixContext): RewireTarget[] {
  return [
    ...context.decisions.linkedServicesToRewire.map((name) =>
      ({ kind: 'linked-service' as const, name })),
    ...context.decisions.pipelinesToRewire.map((name) => ({ kind: 'pipeline' as const, name })),
  ];
}

export function artifactsOf(context: FixContext): ArtifactsClient {
  const devEndpoint = context.inventory.workspace.devEndpoint;
  if (!devEndpoint) {
    throw new DoctorError({
      code: 'dev-endpoint-missing',
      what: 'The workspace reports no dev endpoint.',
      fix: 'Run shir-doctor scan to read the workspace again.',
      exitCode: ExitCode.blocked,
    });
  }
  return context.clients.artifacts(devEndpoint);
}

export function resourceIdOf(context: FixContext, item: RewireTarget): string {
  const collection = item.kind === 'linked-service' ? 'linkedservices' : 'pipelines';
  return `${context.inventory.workspace.devEndpoint ?? ''}/${collection}/${item.name}`;
}

function label(item: RewireTarget): string {
  return `${item.kind === 'linked-service' ? 'Linked service' : 'Pipeline'} ${item.name}`;
}

// ---- backup ----------------------------------------------------------------------------------

export function backupStep(): Step<FixContext> {
  return {
    id: 'backup',
    title: 'Back up definitions',
    dependsOn: [],
    run: runBackup,
  };
}

async function runBackup(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const targets = rewireTargets(context);
  if (targets.length === 0) return { status: 'skipped', reason: 'nothing to rewire' };

  const artifacts = artifactsOf(context);
  for (const item of targets) {
    io.progress(`backing up ${label(item)}`);
    await backupOne(context, io, item, await read(artifacts, item));
  }
  return { status: 'succeeded', summary: `Backed up ${targets.map((t) => t.name).join(', ')}` };
}

/**
 * Records the baseline a rewrite is checked against. In a resumed session, a definition may
 * have changed since the earlier run; unless the change is our own write (by ETag, or by
 * content when its outcome was lost), the current definition becomes the baseline and the
 * earlier write no longer counts as ours. Only `connectVia` is ever changed on top of it.
 */
async function backupOne(
  context: FixContext,
  io: StepIO,
  item: RewireTarget,
  raw: RawDefinition,
): Promise<void> {
  const previous = io.journal.recall<BackupRecord>(backupKey(item));
  if (previous && previous.etag === raw.etag) return;
  if (previous) {
    const original = propertiesOf(JSON.parse(previous.text) as JsonObject);
    const slots = connectViaSlots(context, item, original);
    const runtimeName = context.decisions.runtimeName;
    if (isOurWrite(io.journal, item, raw, original, slots, runtimeName)) return;
    io.progress(`${label(item)} changed since the earlier run; backing up the current one`);
  }

  const path = await io.journal.backup(item.kind, item.name, raw.text, raw.etag);
  await io.journal.remember(backupKey(item), { etag: raw.etag, text: raw.text, path });
  if (previous) await io.journal.remember(writtenKey(item), null);
}

async function read(artifacts: ArtifactsClient, item: RewireTarget): Promise<RawDefinition> {
  try {
    return await readDefinition(artifacts, item.kind, item.name);
  } catch (error) {
    throw toDoctorError(error, { operation: `read ${label(item)}`, resource: item.name });
  }
}

// ---- rewire ----------------------------------------------------------------------------------

export function rewireStep(): Step<FixContext> {
  return {
    id: 'rewire',
    title: 'Point connections at the self-hosted runtime',
    dependsOn: ['online', 'backup'],
    run: runRewire,
  };
}

async function runRewire(context: FixContext, io: StepIO): Promise<StepOutcome> {
  const targets = rewireTargets(context);
  if (targets.length === 0) return { status: 'skipped', reason: 'nothing to rewire' };

  const artifacts = artifactsOf(context);
  const done: string[] = [];
  const failures: DoctorError[] = [];
  for (const item of targets) {
    if (io.signal.aborted) break;
    io.progress(`rewiring ${label(item)}`);
    try {
      done.push(`${item.name} (${await rewireOne(context, io, artifacts, item)})`);
    } catch (error) {
      failures.push(isDoctorError(error) ? error : toDoctorError(error,
        { operation: `rewire ${label(item)}`, resource: item.name }));
    }
  }

  if (failures.length > 0) throw combineFailures(failures, done);
  return { status: 'succeeded', summary: `connectVia -> ${context.decisions.runtimeName}: ` +
    done.join(', ') };
}

function combineFailures(failures: DoctorError[], done: string[]): DoctorError {
  if (failures.length === 1 && done.length === 0) return failures[0];
  const first = failures[0].info;
  return new DoctorError({
    code: first.code,
    what: failures.map((failure) => failure.info.what).join(' '),
    why: [done.length > 0 ? `Rewired: ${done.join(', ')}.` : '', first.why ?? '']
      .filter(Boolean).join(' '),
    fix: [...new Set(failures.map((failure) => failure.info.fix))].join(' '),
    exitCode: first.exitCode,
  });
}

/** Rewires one definition; says whether it was rewired, already was, or had nothing to move. */
async function rewireOne(
  context: FixContext,
  io: StepIO,
  artifacts: ArtifactsClient,
  item: RewireTarget,
): Promise<string> {
  const backup = io.journal.recall<BackupRecord>(backupKey(item));
  if (!backup) throw missingBackup(item);
  const original = propertiesOf(JSON.parse(backup.text) as JsonObject);
  const slots = connectViaSlots(context, item, original);
  const runtimeName = context.decisions.runtimeName;
  if (slots.length === 0) return 'nothing to change';

  const current = await read(artifacts, item);
  if (current.etag !== backup.etag) {
    if (isOurWrite(io.journal, item, current, original, slots, runtimeName)) {
      return 'already rewired';
    }
    // Back to exactly the original (someone undid our earlier write): nothing of theirs to lose.
    if (!isSameExcept(propertiesOf(current.body), original, [])) {
      throw conflict(item, backup.etag, current.etag);
    }
  }

  const properties = structuredClone(propertiesOf(current.body));
  for (const slot of slots) setAt(properties, slot, runtimeReference(runtimeName));
  await restoreSecrets(properties, item, context.secrets);

  const written = await journaledWrite(context, io, artifacts, item, properties, current.etag);
  assertOnlyConnectViaChanged(item, propertiesOf(written.body), original, slots, runtimeName);
  return 'rewired';
}

/**
 * The JSON pointers (under `properties`) of the `connectVia` values this session changes:
 * the linked service's own, or those of the pipeline's Web activities that call the internet
 * from the managed runtime.
 */
export function connectViaSlots(
  context: FixContext,
  item: RewireTarget,
  original: JsonObject,
): string[] {
  if (item.kind === 'linked-service') return ['/connectVia'];

  const runtimes = { runtimes: context.inventory.runtimes,
    ourRuntimeName: context.decisions.runtimeName };
  return webActivitiesOf(original, runtimes)
    .filter((activity) => classifyWebActivity(activity, runtimes).classification ===
      'external-api')
    .map((activity) => `${activity.pointer}/typeProperties/connectVia`);
}

function pointsAt(properties: JsonObject, slots: string[], runtimeName: string): boolean {
  return slots.every((slot) => getAt(properties, `${slot}/referenceName`) === runtimeName);
}

function isOurWrite(
  journal: Journal,
  item: RewireTarget,
  current: RawDefinition,
  original: JsonObject,
  slots: string[],
  runtimeName: string,
): boolean {
  if (current.etag !== undefined && journal.recall<string>(writtenKey(item)) === current.etag) {
    return true;
  }
  const properties = propertiesOf(current.body);
  return pointsAt(properties, slots, runtimeName) && isSameExcept(properties, original, slots);
}

/**
 * Puts the real value back into every masked SecureString, or fails before any write. Each
 * value is registered with the redactor the moment it arrives.
 */
export async function restoreSecrets(
  properties: JsonObject,
  item: RewireTarget,
  secrets: SecretSource,
): Promise<void> {
  const missing: string[] = [];
  for (const pointer of findMaskedSecrets(properties)) {
    const value = await secrets.resolve(`${item.name}:${pointer}`);
    if (value === undefined || value === '') {
      missing.push(pointer);
      continue;
    }
    registerSecret(value);
    setAt(properties, `${pointer}/value`, value);
  }
  if (missing.length > 0) throw secretUnavailable(item, missing);
}

/** The masked secrets (keys for the SecretSource) a rewire of this definition needs. */
function secretKeysOf(context: FixContext, item: RewireTarget): string[] {
  const view = item.kind === 'linked-service'
    ? context.inventory.linkedServices.find((service) => service.name === item.name)
    : context.inventory.pipelines.find((pipeline) => pipeline.name === item.name);
  if (!view) return [];
  const pointers = 'maskedSecrets' in view ? view.maskedSecrets
    : findMaskedSecrets(propertiesOf(JSON.parse(view.rawBody) as JsonObject));
  return pointers.map((pointer) => `${item.name}:${pointer}`);
}

/**
 * Asks for every masked secret the rewire will need before anything changes, so a missing one
 * stops the session at once instead of after the VM is built. Values are registered with the
 * redactor as they arrive.
 */
export async function preflightSecrets(context: FixContext): Promise<void> {
  const missing: string[] = [];
  for (const key of rewireTargets(context).flatMap((item) => secretKeysOf(context, item))) {
    const value = await context.secrets.resolve(key);
    if (value === undefined || value === '') missing.push(key);
    else registerSecret(value);
  }
  if (missing.length === 0) return;

  throw secretsError(missing, `No value was supplied for the masked secret(s) ` +
    `${missing.join(', ')}; nothing was changed.`);
}

async function journaledWrite(
  context: FixContext,
  io: StepIO,
  artifacts: ArtifactsClient,
  item: RewireTarget,
  properties: JsonObject,
  etag: string | undefined,
): Promise<RawDefinition> {
  const intentId = await io.journal.intend({
    action: 'update',
    kind: item.kind,
    name: item.name,
    resourceId: resourceIdOf(context, item),
  });
  try {
    const written = await writeDefinition(artifacts, item.kind, item.name, properties,
      { ifMatch: etag, signal: io.signal });
    await io.journal.conclude(intentId, { isOk: true, etag: written.etag });
    await io.journal.remember(writtenKey(item), written.etag);
    return written;
  } catch (error) {
    await io.journal.conclude(intentId, { isOk: false, error: describeError(error) });
    if ((error as { statusCode?: unknown }).statusCode === 412) throw conflict(item, etag);
    throw toDoctorError(error, { operation: `update ${label(item)}`, resource: item.name });
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function assertOnlyConnectViaChanged(
  item: RewireTarget,
  written: JsonObject,
  original: JsonObject,
  slots: string[],
  runtimeName: string,
): void {
  if (pointsAt(written, slots, runtimeName) && isSameExcept(written, original, slots)) return;

  throw new DoctorError({
    code: 'rewire-verify-failed',
    what: `${label(item)} was written, but reading it back shows more than connectVia changed.`,
    why: `Expected ${canonicalJson(withoutPointers(original, slots)).slice(0, 300)}; read ` +
      `${canonicalJson(withoutPointers(written, slots)).slice(0, 300)}.`,
    fix: 'Run shir-doctor rollback to restore the backup, then report this with the session log.',
  });
}

// ---- errors ----------------------------------------------------------------------------------

/** Env variable the CLI reads for a masked secret: SHIR_DOCTOR_SECRET_<ITEM>_<FIELD>. */
export function secretEnvName(key: string): string {
  const at = key.indexOf(':');
  const item = key.slice(0, at);
  const field = key.slice(at + 1).split('/').filter(Boolean).pop() ?? 'VALUE';
  const clean = (text: string): string => text.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  return `SHIR_DOCTOR_SECRET_${clean(item)}_${clean(field)}`;
}

function secretUnavailable(item: RewireTarget, pointers: string[]): DoctorError {
  const keys = pointers.map((pointer) => `${item.name}:${pointer}`);
  return secretsError(keys, `${label(item)} was not rewired: the service returns its secret ` +
    `${pointers.join(', ')} masked and no value was supplied. Nothing was written.`);
}

/** The error for secrets nobody supplied, saying every way to supply them. */
function secretsError(keys: string[], what: string): DoctorError {
  const example = Object.fromEntries(keys.map((key) => [key, '<value>']));
  return new DoctorError({
    code: 'secret-unavailable',
    what,
    why: 'Writing the definition back without the real value would replace the stored ' +
      'secret with "**********".',
    fix: `Supply the value with --secrets-file FILE (JSON ${JSON.stringify(example)}) or the ` +
      `environment variable ${keys.map(secretEnvName).join(', ')}, or move the secret to ` +
      'Azure Key Vault (an AzureKeyVaultSecret reference needs no value), then run again.',
  });
}

function conflict(item: RewireTarget, expected?: string, actual?: string): DoctorError {
  return new DoctorError({
    code: 'etag-conflict',
    what: `${label(item)} changed since shir-doctor backed it up; it was not rewired and ` +
      'nothing was overwritten.',
    why: `ETag at backup ${expected ?? '(none)'}, now ${actual ?? 'different'}.`,
    fix: 'Review the other change, then run shir-doctor fix again: the definition is backed ' +
      'up afresh before it is rewired.',
  });
}

function missingBackup(item: RewireTarget): DoctorError {
  return new DoctorError({
    code: 'backup-missing',
    what: `${label(item)} has no backup in this session, so it was not changed.`,
    fix: 'Run shir-doctor fix again; the backup step runs before any rewrite.',
    exitCode: ExitCode.internal,
  });
}
