/**
 * Rollback: restore every linked service and pipeline a fix session changed, and (only when
 * asked) delete what it created.
 *
 * Policy:
 * - The session is the one named, else the latest fix session for the target with changes
 *   that is not rolled back yet. Its journal records the rollback too, and is marked
 *   `rolled-back` at the end so a later fix starts afresh.
 * - A definition is restored only while it is still what the session wrote (same ETag); if
 *   someone changed it since, it is refused and left as it is. A definition whose write outcome
 *   was lost, or whose write failed or was interrupted (the PUT may still have landed), is
 *   restored only when it differs from the backup in `connectVia` alone.
 * - Masked secrets are put back from the SecretSource, never the mask; without a value the
 *   item is not written. After each write, a GET must equal the backup canonically.
 * - Created resources are deleted newest first, only with `deleteCreated` (the CLI asks);
 *   first, test pipelines that interrupted runs left behind, which keep the runtime in use.
 * - Each restore and delete is reported as it happens, as a step (started, then succeeded,
 *   skipped or failed), so every presenter shows the rollback's progress.
 * - Ctrl-C: the change in progress is finished or parked, nothing further is changed (no
 *   delete after an interrupted restore), and a rerun finishes the rollback.
 */
import type { ArtifactsClient } from '@azure/synapse-artifacts';
import { toDoctorError } from '../azure/errors.js';
import type { AzureClients } from '../azure/types.js';
import { DoctorError, ExitCode, isDoctorError } from '../engine/errors.js';
import type { SessionUI } from '../engine/events.js';
import {
  isSameTarget,
  listSessions,
  readJournal,
  type JournalContents,
  type SessionInfo,
} from '../engine/journal.js';
import type { Target } from '../engine/types.js';
import {
  canonicalJson,
  deletePipeline,
  findWebActivities,
  getAt,
  isSameExcept,
  propertiesOf,
  readDefinition,
  writeDefinition,
  type JsonObject,
  type RawDefinition,
} from './definitions.js';
import { TAGS } from '../wire/guest.js';
import { leftoverTestPipelines, removeLeftoverTestPipelines } from './prove.js';
import { isNotFound, parseArmId } from './resources.js';
import {
  backupKey,
  restoreSecrets,
  writtenKey,
  type BackupRecord,
  type RewireTarget,
} from './rewire.js';
import {
  failSession,
  finishSession,
  openSession,
  type Session,
  type SessionOptions,
  type SessionResult,
} from './session.js';

/** Restores what a fix session changed. */
export async function runRollback(options: SessionOptions, ui: SessionUI): Promise<SessionResult> {
  const sessions = await listSessions(options.stateDir);
  const chosen = chooseSession(options, sessions);
  const session = await openSession('rollback', options, ui, chosen?.sessionId);
  if (!chosen) return nothingToRollBack(session, options.sessionId, sessions);

  try {
    const contents = await readJournal(chosen.directory);
    const devEndpoint = await readDevEndpoint(session.clients, options.target);
    const artifacts = session.clients.artifacts(devEndpoint);
    const restored = await restoreAll(session, artifacts, contents);
    stopIfInterrupted(session);
    if (options.deleteCreated) await removeLeftovers(session, artifacts, devEndpoint);
    const deleted = options.deleteCreated ? await deleteCreated(session, artifacts, contents) : [];
    return finishRollback(session, restored, deleted, contents);
  } catch (error) {
    return failSession(session, error);
  }
}

/** Ctrl-C: no further change; the session ends interrupted and a rerun picks up the rest. */
function stopIfInterrupted(session: Session): void {
  if (!session.options.signal.aborted) return;

  throw new DoctorError({
    code: 'interrupted',
    what: 'Interrupted: the rollback stopped before its next change.',
    fix: 'Run shir-doctor rollback again to finish it.',
    exitCode: ExitCode.interrupted,
  });
}

/** Test pipelines interrupted verify runs left would keep the runtime in use: remove them. */
async function removeLeftovers(
  session: Session,
  artifacts: ArtifactsClient,
  devEndpoint: string,
): Promise<void> {
  const { stateDir, target } = session.options;
  const names = await leftoverTestPipelines(stateDir, target, session.journal.sessionId);
  await removeLeftoverTestPipelines({ artifacts, journal: session.journal, devEndpoint,
    progress: (message) => session.bus.emit({ type: 'log', level: 'info', message }) }, names);
}

function chooseSession(options: SessionOptions, sessions: SessionInfo[])
  : SessionInfo | undefined {
  if (options.sessionId) return sessions.find((item) => item.sessionId === options.sessionId);
  return sessions.find((item) => isCandidate(item, options.target));
}

function isCandidate(session: SessionInfo, target: Target): boolean {
  return (session.command === 'fix' || session.command === 'rollback') &&
    session.target !== undefined && isSameTarget(session.target, target) &&
    session.changeCount > 0 && session.finished?.outcome !== 'rolled-back';
}

function nothingToRollBack(
  session: Session,
  requested: string | undefined,
  sessions: SessionInfo[],
): Promise<SessionResult> {
  if (requested) {
    // Name the sessions that changed something, so the admin need not dig in the folder.
    const known = sessions.filter((item) => item.changeCount > 0).map((item) => item.sessionId);
    return failSession(session, new DoctorError({
      code: 'session-not-found',
      what: `There is no session ${requested} in this state folder.`,
      fix: known.length === 0
        ? 'No session in this state folder changed anything: there is nothing to roll back.'
        : `Pass --session with one of the sessions that made changes: ${known.join(', ')}.`,
      exitCode: ExitCode.usage,
    }));
  }
  return finishSession(session, {
    outcome: 'nothing-to-roll-back',
    headline: 'No fix session in this state folder changed this workspace.',
    exitCode: ExitCode.ok,
  });
}

async function readDevEndpoint(clients: AzureClients, target: Target): Promise<string> {
  try {
    const workspace = await clients.synapse.workspaces.get(target.resourceGroup,
      target.workspaceName);
    const dev = workspace.connectivityEndpoints?.dev;
    if (dev) return dev;
  } catch (error) {
    throw toDoctorError(error, { operation: 'read the workspace',
      resource: target.workspaceName });
  }
  throw new DoctorError({ code: 'dev-endpoint-missing', what: 'The workspace reports no dev ' +
    'endpoint.', fix: 'Check the workspace in the portal, then run rollback again.' });
}

// ---- restore definitions ---------------------------------------------------------------------

/**
 * The definitions the session wrote, or may have written: an intent without an outcome, or a
 * write that failed or was interrupted after its PUT may have reached the service.
 */
export function changedDefinitions(contents: JournalContents): RewireTarget[] {
  const items: RewireTarget[] = [];
  for (const key of Object.keys(contents.state)) {
    const match = /^backup:(linked-service|pipeline):(.+)$/.exec(key);
    if (!match) continue;
    const item = { kind: match[1] as RewireTarget['kind'], name: match[2] };
    if (contents.state[writtenKey(item)] != null || isUncertain(contents, item)) {
      items.push(item);
    }
  }
  return items;
}

function isUncertain(contents: JournalContents, item: RewireTarget): boolean {
  const isWriteOf = ({ change }: JournalContents['changes'][number]) =>
    change.kind === item.kind && change.name === item.name && change.action === 'update';
  const failed = (contents.changes ?? []).filter((change) => change.result?.isOk === false);

  return contents.uncertain.some(isWriteOf) || failed.some(isWriteOf);
}

interface Restored {
  restored: string[];
  refused: DoctorError[];
}

async function restoreAll(
  session: Session,
  artifacts: ArtifactsClient,
  contents: JournalContents,
): Promise<Restored> {
  const result: Restored = { restored: [], refused: [] };
  for (const item of changedDefinitions(contents)) {
    if (session.options.signal.aborted) break;
    const step = startItem(session, `restore:${item.kind}:${item.name}`,
      `Restore ${item.kind} ${item.name}`);
    try {
      const how = await restoreOne(session, artifacts, contents, item);
      result.restored.push(`${item.name} (${how})`);
      step.succeeded(how);
    } catch (error) {
      const refused = isDoctorError(error) ? error
        : toDoctorError(error, { operation: `restore ${item.name}`, resource: item.name });
      result.refused.push(refused);
      step.failed(refused);
    }
  }
  return result;
}

/** The live report of one restore or delete, through the same step events a fix emits. */
interface ItemStep {
  succeeded(summary: string): void;
  skipped(reason: string): void;
  failed(error: DoctorError): void;
}

function startItem(session: Session, stepId: string, title: string): ItemStep {
  const { bus } = session;
  const startedAt = Date.now();
  const elapsedMs = () => Date.now() - startedAt;
  bus.emit({ type: 'step.started', stepId, title });
  return {
    succeeded: (summary) =>
      bus.emit({ type: 'step.succeeded', stepId, summary, elapsedMs: elapsedMs() }),
    skipped: (reason) => bus.emit({ type: 'step.skipped', stepId, title, reason }),
    failed: (error) =>
      bus.emit({ type: 'step.failed', stepId, error: error.info, elapsedMs: elapsedMs() }),
  };
}

async function restoreOne(
  session: Session,
  artifacts: ArtifactsClient,
  contents: JournalContents,
  item: RewireTarget,
): Promise<string> {
  const backup = contents.state[backupKey(item)] as BackupRecord;
  const original = propertiesOf(JSON.parse(backup.text) as JsonObject);
  const current = await readDefinition(artifacts, item.kind, item.name);
  const currentProperties = propertiesOf(current.body);
  if (canonicalJson(currentProperties) === canonicalJson(original)) return 'already restored';

  const written = (contents.state[writtenKey(item)] ?? undefined) as string | undefined;
  if (!isStillOurs(item, current, original, written)) throw changedSince(item, written, current);

  const properties = structuredClone(original);
  await restoreSecrets(properties, item, session.options.secrets);
  const after = await journaledRestore(session, artifacts, item, properties, current.etag);
  if (canonicalJson(propertiesOf(after.body)) !== canonicalJson(original)) {
    throw notRestored(item);
  }
  return 'restored';
}

function isStillOurs(
  item: RewireTarget,
  current: RawDefinition,
  original: JsonObject,
  written: string | undefined,
): boolean {
  if (written !== undefined) return current.etag === written;
  return isSameExcept(propertiesOf(current.body), original,
    changedSlots(item, original, propertiesOf(current.body)));
}

/** The `connectVia` slots where two versions of a definition differ. */
export function changedSlots(
  item: RewireTarget,
  original: JsonObject,
  current: JsonObject,
): string[] {
  if (item.kind === 'linked-service') return ['/connectVia'];
  return findWebActivities(current)
    .map(({ pointer }) => `${pointer}/typeProperties/connectVia`)
    .filter((slot) =>
      canonicalJson(getAt(current, slot)) !== canonicalJson(getAt(original, slot)));
}

async function journaledRestore(
  session: Session,
  artifacts: ArtifactsClient,
  item: RewireTarget,
  properties: JsonObject,
  etag: string | undefined,
): Promise<RawDefinition> {
  const collection = item.kind === 'linked-service' ? 'linkedservices' : 'pipelines';
  const intentId = await session.journal.intend({ action: 'update', kind: item.kind,
    name: item.name, resourceId: `${artifacts.endpoint}/${collection}/${item.name}` });
  try {
    const after = await writeDefinition(artifacts, item.kind, item.name, properties,
      { ifMatch: etag, signal: session.options.signal });
    await session.journal.conclude(intentId, { isOk: true, etag: after.etag });
    return after;
  } catch (error) {
    await session.journal.conclude(intentId, { isOk: false, error: String(error) });
    throw toDoctorError(error, { operation: `restore ${item.name}`, resource: item.name });
  }
}

// ---- delete created resources ----------------------------------------------------------------

/**
 * Resource ids the session created, or may have created (a create interrupted in flight), and
 * did not delete itself, newest first.
 */
export function createdToDelete(contents: JournalContents): string[] {
  const deleted = new Set(contents.changes
    .filter((change) => change.change.action === 'delete' && change.result?.isOk)
    .map((change) => change.change.resourceId.toLowerCase()));
  const journaled = contents.changes
    .filter(({ change, result }) => change.action === 'create' && result?.isOk !== false)
    .map(({ change }) => change.resourceId);
  const isJournaled = (id: string) => journaled.some((other) => sameId(other, id));
  const created = [...journaled, ...contents.created.filter((id) => !isJournaled(id))].reverse();
  const seen = new Set<string>();
  return created.filter((id) => {
    const key = id.toLowerCase();
    if (seen.has(key) || deleted.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** True when the journal holds no finished create for `resourceId` (it was in flight). */
function wasInFlight(contents: JournalContents, resourceId: string): boolean {
  return !contents.created.some((id) => sameId(id, resourceId));
}

async function deleteCreated(
  session: Session,
  artifacts: ArtifactsClient,
  contents: JournalContents,
): Promise<string[]> {
  const deleted: string[] = [];
  for (const resourceId of createdToDelete(contents)) {
    stopIfInterrupted(session);
    const isInFlight = wasInFlight(contents, resourceId);
    if (isInFlight && !(await isOurs(session.clients, resourceId, contents.sessionId))) continue;
    const change = contents.changes.find((item) => item.change.resourceId === resourceId);
    const kind = change?.change.kind ?? 'virtual-machine';
    const name = change?.change.name ?? resourceId;
    const intentId = await session.journal.intend({ action: 'delete', kind, name, resourceId });
    const step = startItem(session, `delete:${resourceId}`, `Delete ${kind} ${name}`);
    try {
      const isDeleted = await deleteResource(session.clients, artifacts, resourceId);
      const leftInPlace = 'left in place: deleted with its parent, or an unknown type';
      await session.journal.conclude(intentId, isDeleted ? { isOk: true }
        : { isOk: false, error: leftInPlace });
      if (isDeleted) deleted.push(name);
      if (isDeleted) step.succeeded('deleted');
      else step.skipped(leftInPlace);
    } catch (error) {
      await session.journal.conclude(intentId, { isOk: false, error: String(error) });
      const failure = toDoctorError(error, { operation: 'delete a created resource',
        resource: resourceId });
      step.failed(failure);
      throw failure;
    }
  }
  return deleted;
}

const POLL = { updateIntervalInMs: 500 };

/**
 * A create that was interrupted in flight may or may not have happened: delete the resource
 * only when it exists and carries this session's tag (runtimes carry no tags: existing is
 * enough, their name is the session's). A fix summary uses it too, for what a rerun took over.
 */
export async function isOurs(
  clients: AzureClients,
  resourceId: string,
  sessionId: string,
): Promise<boolean> {
  if (/^https?:/i.test(resourceId)) return true;
  try {
    const tags = await tagsOf(clients, resourceId);
    return tags === 'untaggable' || tags?.[TAGS.session] === sessionId;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

type Tags = Record<string, string> | undefined;

async function tagsOf(clients: AzureClients, resourceId: string): Promise<Tags | 'untaggable'> {
  const { resourceGroup: rg, name, parentName } = parseArmId(resourceId);
  const type = resourceId.toLowerCase();
  const { compute, network } = clients;
  if (type.includes('/integrationruntimes/')) {
    await clients.synapse.integrationRuntimes.get(rg, parentName ?? '', name);
    return 'untaggable';
  }
  if (type.includes('/runcommands/')) {
    const command = await compute.virtualMachineRunCommands
      .getByVirtualMachine(rg, parentName ?? '', name);
    return command.tags;
  }
  const getters: Array<[string, () => Promise<{ tags?: Tags }>]> = [
    ['/virtualmachines/', () => compute.virtualMachines.get(rg, name)],
    ['/networkinterfaces/', () => network.networkInterfaces.get(rg, name)],
    ['/virtualnetworks/', () => network.virtualNetworks.get(rg, name)],
    ['/networksecuritygroups/', () => network.networkSecurityGroups.get(rg, name)],
    ['/natgateways/', () => network.natGateways.get(rg, name)],
    ['/publicipaddresses/', () => network.publicIPAddresses.get(rg, name)],
  ];
  const getter = getters.find(([segment]) => type.includes(segment))?.[1];
  if (getter) return (await getter()).tags;
  return undefined;
}

/**
 * Deletes one resource by its ARM id (or dev-endpoint URL for a pipeline). Returns false for
 * what it leaves in place: a subnet (it goes with its network) or a type it does not know.
 */
async function deleteResource(
  clients: AzureClients,
  artifacts: ArtifactsClient,
  resourceId: string,
): Promise<boolean> {
  if (/^https?:/i.test(resourceId)) {
    await deletePipeline(artifacts, resourceId.split('/').pop() ?? '');
    return true;
  }
  const { resourceGroup: rg, name, parentName } = parseArmId(resourceId);
  const type = resourceId.toLowerCase();
  if (type.includes('/runcommands/')) {
    await clients.compute.virtualMachineRunCommands.delete(rg, parentName ?? '', name, POLL);
  } else if (type.includes('/virtualmachines/')) {
    await clients.compute.virtualMachines.delete(rg, name, POLL);
  } else if (type.includes('/integrationruntimes/')) {
    await deleteRuntimePart(clients, resourceId);
  } else {
    return deleteNetworkResource(clients, type, rg, name);
  }
  return true;
}

async function deleteRuntimePart(clients: AzureClients, resourceId: string): Promise<void> {
  const parts = resourceId.split('/');
  const at = (key: string): string =>
    parts[parts.findIndex((part) => part.toLowerCase() === key) + 1] ?? '';
  const rg = at('resourcegroups');
  const workspace = at('workspaces');
  const runtime = at('integrationruntimes');
  if (resourceId.toLowerCase().includes('/nodes/')) {
    await clients.synapse.integrationRuntimeNodes.delete(rg, workspace, runtime, at('nodes'));
    return;
  }
  await clients.synapse.integrationRuntimes.beginDeleteAndWait(rg, workspace, runtime, POLL);
}

async function deleteNetworkResource(
  clients: AzureClients,
  type: string,
  rg: string,
  name: string,
): Promise<boolean> {
  const network = clients.network;
  if (type.includes('/networkinterfaces/')) {
    await network.networkInterfaces.beginDeleteAndWait(rg, name, POLL);
  } else if (type.includes('/subnets/')) {
    return false;
  } else if (type.includes('/virtualnetworks/')) {
    await network.virtualNetworks.beginDeleteAndWait(rg, name, POLL);
  } else if (type.includes('/networksecuritygroups/')) {
    await network.networkSecurityGroups.beginDeleteAndWait(rg, name, POLL);
  } else if (type.includes('/natgateways/')) {
    await detachNatGateway(clients, rg, name);
    await network.natGateways.beginDeleteAndWait(rg, name, POLL);
  } else if (type.includes('/publicipaddresses/')) {
    await network.publicIPAddresses.beginDeleteAndWait(rg, name, POLL);
  } else {
    return false;
  }
  return true;
}

/**
 * A NAT gateway shir-doctor attached to an existing subnet (F17) must be detached before it can
 * be deleted: the subnet goes back to having none, as it was before the session.
 */
async function detachNatGateway(clients: AzureClients, rg: string, name: string): Promise<void> {
  const network = clients.network;
  const gateway = await network.natGateways.get(rg, name);
  for (const reference of gateway.subnets ?? []) {
    if (!reference.id) continue;
    const parts = parseArmId(reference.id);
    const vnet = parts.parentName ?? '';
    const subnet = await network.subnets.get(parts.resourceGroup, vnet, parts.name);
    if (subnet.natGateway?.id?.toLowerCase() !== gateway.id?.toLowerCase()) continue;
    await network.subnets.beginCreateOrUpdateAndWait(parts.resourceGroup, vnet, parts.name,
      { ...subnet, natGateway: undefined }, POLL);
  }
}

// ---- summary and errors ----------------------------------------------------------------------

function finishRollback(
  session: Session,
  result: Restored,
  deleted: string[],
  contents: JournalContents,
): Promise<SessionResult> {
  const created = createdToDelete(contents).length;
  const leftNote = !session.options.deleteCreated && created > 0
    ? ` ${created} created resource(s) were kept; pass --delete-created to remove them.` : '';
  if (result.refused.length > 0) {
    const first = result.refused[0].info;
    return finishSession(session, {
      outcome: 'failed',
      headline: result.refused.map((error) => error.info.what).join(' '),
      exitCode: ExitCode.applyFailed,
      error: { ...first, what: result.refused.map((error) => error.info.what).join(' ') },
      nextCommands: ['shir-doctor rollback'],
    });
  }
  return finishSession(session, {
    outcome: 'rolled-back',
    headline: `Restored ${result.restored.length} definition(s) exactly as backed up` +
      (result.restored.length > 0 ? `: ${result.restored.join(', ')}.` : '.') +
      (deleted.length > 0 ? ` Deleted ${deleted.join(', ')}.` : '') + leftNote,
    exitCode: ExitCode.ok,
    nextCommands: ['shir-doctor plan'],
  });
}

function changedSince(item: RewireTarget, written: string | undefined, current: RawDefinition) {
  return new DoctorError({
    code: 'etag-conflict',
    what: `${item.name} changed after shir-doctor rewired it; it was not restored.`,
    why: `ETag written by the session ${written ?? '(unknown)'}, now ${current.etag ?? '?'}.`,
    fix: `Compare ${item.name} with its backup in the session folder and restore it by hand ` +
      'if the later change should go.',
  });
}

function notRestored(item: RewireTarget): DoctorError {
  return new DoctorError({
    code: 'restore-verify-failed',
    what: `${item.name} was written back, but reading it shows it differs from the backup.`,
    fix: 'Compare it with the backup in the session folder and fix it by hand.',
  });
}
