/**
 * The session journal on disk: what makes a session resumable and reversible.
 *
 * Layout under `<stateDir>/sessions/<sessionId>/`:
 * - `journal.jsonl`: one JSON object per line, appended in order: `opened` (each start or
 *   resume), `intent` before every change to Azure, `outcome` after it, `backup`, `state`
 *   (remember), `finished`. Each line is written with one `write` and flushed with `datasync`
 *   before the promise resolves, so an entry that was awaited survives a crash. A torn last line
 *   (crash mid-write) is ignored by the reader and fenced off by the next writer.
 * - `backups/<kind>/<name>.json`: the exact bytes the service returned, and
 *   `backups/<kind>/<name>.meta.json` with its ETag. First write wins: the body is written to a
 *   temporary file and hard-linked into place, so a second backup of the same item (in the same
 *   or a resumed session) never replaces the original.
 *
 * - `lock`: the pid of the process that has the session open (see acquireLock).
 *
 * Everything written passes through `redact`: the journal never holds a secret.
 *
 * A session is resumable when it is a `fix` session for the same target that has not finished,
 * or finished `interrupted` or `failed`. Resuming matters: a fresh session would back up the
 * already-rewired definitions as if they were the originals.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  unlink,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { join } from 'node:path';

import { DoctorError, ExitCode } from './errors.js';
import type { CommandName, SessionOutcome } from './events.js';
import { redact, redactDeep } from './redact.js';
import type { BackedUpKind, ChangeIntent, ChangeResult, Journal } from './step.js';
import type { Target } from './types.js';

/** One line of `journal.jsonl`. */
export type JournalEntry =
  | {
      type: 'opened';
      sessionId: string;
      command: CommandName;
      target: Target;
      isResumed: boolean;
      at: string;
    }
  | { type: 'intent'; id: string; change: ChangeIntent; at: string }
  | { type: 'outcome'; id: string; result: ChangeResult; at: string }
  | {
      type: 'backup';
      kind: BackedUpKind;
      name: string;
      /** Relative to the session directory. */
      file: string;
      etag?: string;
      at: string;
    }
  | { type: 'state'; key: string; value: unknown; at: string }
  | { type: 'finished'; outcome: SessionOutcome; at: string };

/** An intent and, when the change completed, how it ended. */
export interface JournaledChange {
  id: string;
  change: ChangeIntent;
  at: string;
  /** Absent when the process stopped between intent and outcome: the change is uncertain. */
  result?: ChangeResult;
}

/** A backup as the journal knows it. */
export interface JournaledBackup {
  kind: BackedUpKind;
  name: string;
  /** Absolute path of the exact raw body. */
  path: string;
  etag?: string;
}

/** Everything a resume or a rollback needs, read back from a session directory. */
export interface JournalContents {
  sessionId: string;
  directory: string;
  command?: CommandName;
  target?: Target;
  startedAt?: string;
  /** The last `finished` entry after the last `opened` one; absent while unfinished. */
  finished?: { outcome: SessionOutcome; at: string };
  entries: JournalEntry[];
  changes: JournaledChange[];
  backups: JournaledBackup[];
  /** Resource ids of creations that completed: rollback deletes these. */
  created: string[];
  /** Intents without an outcome: rollback must check these resources before acting. */
  uncertain: JournaledChange[];
  state: Record<string, unknown>;
  /** True when the last line was torn by a crash and ignored. */
  hadTornLine: boolean;
}

/** A session as `listSessions` shows it. */
export interface SessionInfo {
  sessionId: string;
  directory: string;
  command?: CommandName;
  target?: Target;
  startedAt?: string;
  finished?: { outcome: SessionOutcome; at: string };
  changeCount: number;
}

/** Options for `openJournal`. */
export interface OpenJournalOptions {
  stateDir: string;
  target: Target;
  command: CommandName;
  /** Reopen this session (resume), or create it with this id if it does not exist. */
  sessionId?: string;
  now?: () => Date;
}

const JOURNAL_FILE = 'journal.jsonl';
const LOCK_FILE = 'lock';
const SESSIONS = 'sessions';
const RESUMABLE_OUTCOMES: ReadonlySet<SessionOutcome> = new Set(['interrupted', 'failed']);

/** Folder that holds one session. */
export function sessionDirectory(stateDir: string, sessionId: string): string {
  return join(stateDir, SESSIONS, sessionId);
}

/** A sortable session id: `YYYYMMDD-HHMMSS-xxxx`. */
export function newSessionId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Creates a session, or reopens one to resume it. */
export async function openJournal(options: OpenJournalOptions): Promise<FileJournal> {
  const now = options.now ?? (() => new Date());
  const sessionId = options.sessionId ?? newSessionId(now());
  assertSafeSegment(sessionId, 'session id');

  const directory = sessionDirectory(options.stateDir, sessionId);
  await mkdir(join(directory, 'backups'), { recursive: true, mode: 0o700 });
  await acquireLock(directory);
  const previous = await readJournal(directory);
  const handle = await open(join(directory, JOURNAL_FILE), 'a', 0o600);

  const journal = new FileJournal(sessionId, directory, handle, previous, now);
  await journal.start(options.command, options.target, previous.entries.length > 0);
  return journal;
}

/** The journal of one session, appending to `journal.jsonl`. */
export class FileJournal implements Journal {
  /** True when this session existed before and was reopened. */
  isResumed = false;
  private readonly state: Map<string, unknown>;
  private intentCount: number;
  private queue: Promise<unknown> = Promise.resolve();
  private needsFence: boolean;
  private isClosed = false;

  constructor(
    readonly sessionId: string,
    readonly directory: string,
    private readonly handle: FileHandle,
    previous: JournalContents,
    private readonly now: () => Date,
  ) {
    this.state = new Map(Object.entries(previous.state));
    this.intentCount = previous.changes.length;
    this.needsFence = previous.hadTornLine;
  }

  /** Writes the `opened` entry. Called once by `openJournal`. */
  async start(command: CommandName, target: Target, isResumed: boolean): Promise<void> {
    this.isResumed = isResumed;
    const { sessionId } = this;
    await this.append({ type: 'opened', sessionId, command, target, isResumed, at: this.stamp() });
  }

  async intend(change: ChangeIntent): Promise<string> {
    this.intentCount += 1;
    const id = `c${String(this.intentCount).padStart(4, '0')}`;
    await this.append({ type: 'intent', id, change: { ...change }, at: this.stamp() });
    return id;
  }

  async conclude(intentId: string, result: ChangeResult): Promise<void> {
    await this.append({ type: 'outcome', id: intentId, result: { ...result }, at: this.stamp() });
  }

  async backup(kind: BackedUpKind, name: string, rawBody: string, etag?: string): Promise<string> {
    const file = backupFile(kind, name);
    const path = join(this.directory, file);
    const isFirst = await writeOnce(path, redact(rawBody), etag);
    if (isFirst) await this.append({ type: 'backup', kind, name, file, etag, at: this.stamp() });
    return path;
  }

  async remember(key: string, value: unknown): Promise<void> {
    const safe = redactDeep(value);
    this.state.set(key, structuredClone(safe));
    await this.append({ type: 'state', key, value: safe, at: this.stamp() });
  }

  recall<T>(key: string): T | undefined {
    const value = this.state.get(key);
    return value === undefined ? undefined : (structuredClone(value) as T);
  }

  /** Records how the session ended. */
  async markFinished(outcome: SessionOutcome): Promise<void> {
    await this.append({ type: 'finished', outcome, at: this.stamp() });
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    if (this.isClosed) return;

    this.isClosed = true;
    await this.queue.catch(() => undefined);
    await this.handle.close();
    await releaseLock(this.directory);
  }

  private stamp(): string {
    return this.now().toISOString();
  }

  /** Serialises writes so lines never interleave and keep their call order. */
  private append(entry: JournalEntry): Promise<void> {
    if (this.isClosed) return Promise.reject(closedError());

    const line = redact(JSON.stringify(entry)) + '\n';
    const write = this.queue.catch(() => undefined).then(() => this.writeLine(line));
    this.queue = write;
    return write;
  }

  private async writeLine(line: string): Promise<void> {
    const text = this.needsFence ? '\n' + line : line;
    await this.handle.write(text);
    await this.handle.datasync();
    this.needsFence = false;
  }
}

/**
 * One process per session: a `lock` file holds the owner's pid. A lock left by a process that
 * is gone (crash, SIGKILL) is taken over; one held by a live process is refused, so two
 * terminals never apply the same session at once. The same process may reopen its own session.
 */
async function acquireLock(directory: string): Promise<void> {
  const path = join(directory, LOCK_FILE);
  try {
    await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }

  const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
  if (owner !== process.pid && isAlive(owner)) throw sessionBusyError(directory, owner);
  await writeFile(path, `${process.pid}\n`, { mode: 0o600 });
}

/** True while a live process other than this one holds the session's lock. */
export async function isSessionBusy(directory: string): Promise<boolean> {
  const path = join(directory, LOCK_FILE);
  const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);

  return owner !== process.pid && isAlive(owner);
}

async function releaseLock(directory: string): Promise<void> {
  const path = join(directory, LOCK_FILE);
  const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
  if (owner === process.pid) await unlink(path).catch(() => undefined);
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sessionBusyError(directory: string, pid: number): DoctorError {
  return new DoctorError({
    code: 'session-in-use',
    what: 'Another shir-doctor process is working on this session.',
    why: `Process ${pid} holds ${join(directory, LOCK_FILE)}.`,
    fix: `Wait for it to finish or stop it (process ${pid}), then rerun.`,
    exitCode: ExitCode.blocked,
  });
}

function closedError(): DoctorError {
  return new DoctorError({
    code: 'journal-closed',
    what: 'A change was recorded after the session journal was closed.',
    fix: 'This is a bug in shir-doctor; please report it with the session log.',
    exitCode: ExitCode.internal,
  });
}

function backupFile(kind: BackedUpKind, name: string): string {
  assertSafeSegment(name, `${kind} name`);
  return join('backups', kind, `${name}.json`);
}

/** Names become file names: refuse anything that could leave the session folder. */
function assertSafeSegment(value: string, label: string): void {
  const isSafe = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,199}$/.test(value) && !value.includes('..');
  if (isSafe) return;

  throw new DoctorError({
    code: 'unsafe-name',
    what: `The ${label} "${value}" cannot be used as a file name.`,
    fix: 'Rename the resource to letters, digits, dots, dashes, underscores or spaces.',
    exitCode: ExitCode.internal,
  });
}

/** Writes `path` (and its sidecar) unless it exists; true when this call wrote it. */
async function writeOnce(path: string, body: string, etag?: string): Promise<boolean> {
  const folder = join(path, '..');
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeDurably(temporary, body);

  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }

  const sidecar = path.replace(/\.json$/, '.meta.json');
  const meta = JSON.stringify({ etag, savedAt: new Date().toISOString() }, null, 2);
  await writeDurably(`${sidecar}.tmp`, redact(meta) + '\n');
  await rename(`${sidecar}.tmp`, sidecar);
  return true;
}

async function writeDurably(path: string, text: string): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC;
  const handle = await open(path, flags, 0o600);
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Reads a session directory back; a missing journal reads as an empty session. */
export async function readJournal(directory: string): Promise<JournalContents> {
  const text = await readFile(join(directory, JOURNAL_FILE), 'utf8').catch(missingAsEmpty);
  const { entries, hadTornLine } = parseLines(text);
  return summarise(directory, entries, hadTornLine);
}

function missingAsEmpty(error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return '';
  throw error;
}

function parseLines(text: string): { entries: JournalEntry[]; hadTornLine: boolean } {
  const entries: JournalEntry[] = [];
  let hadTornLine = false;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = parseEntry(line);
    if (entry) entries.push(entry);
    else hadTornLine = true;
  }
  // A file that does not end in a newline was cut mid-write even if the tail parses.
  const isTorn = text.length > 0 && !text.endsWith('\n');
  return { entries, hadTornLine: hadTornLine || isTorn };
}

function parseEntry(line: string): JournalEntry | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    const isEntry = typeof value === 'object' && value !== null &&
      typeof (value as { type?: unknown }).type === 'string';
    return isEntry ? (value as JournalEntry) : undefined;
  } catch {
    return undefined;
  }
}

function summarise(
  directory: string,
  entries: JournalEntry[],
  hadTornLine: boolean,
): JournalContents {
  const contents: JournalContents = {
    sessionId: directory.split(/[\\/]/).pop() ?? '',
    directory,
    entries,
    changes: [],
    backups: [],
    created: [],
    uncertain: [],
    state: {},
    hadTornLine,
  };
  for (const entry of entries) apply(contents, entry);

  contents.uncertain = contents.changes.filter((change) => change.result === undefined);
  contents.created = contents.changes
    .filter((change) => change.change.action === 'create' && change.result?.isOk === true)
    .map((change) => change.change.resourceId);
  return contents;
}

function apply(contents: JournalContents, entry: JournalEntry): void {
  switch (entry.type) {
    case 'opened':
      contents.command = entry.command;
      contents.target = entry.target;
      contents.startedAt ??= entry.at;
      contents.finished = undefined;
      return;
    case 'intent':
      contents.changes.push({ id: entry.id, change: entry.change, at: entry.at });
      return;
    case 'outcome': {
      const change = contents.changes.find((candidate) => candidate.id === entry.id);
      if (change) change.result = entry.result;
      return;
    }
    case 'backup': {
      const path = join(contents.directory, entry.file);
      contents.backups.push({ kind: entry.kind, name: entry.name, path, etag: entry.etag });
      return;
    }
    case 'state':
      contents.state[entry.key] = entry.value;
      return;
    case 'finished':
      contents.finished = { outcome: entry.outcome, at: entry.at };
      return;
  }
}

/** Every session under `stateDir`, newest first. */
export async function listSessions(stateDir: string): Promise<SessionInfo[]> {
  const root = join(stateDir, SESSIONS);
  const names = await readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });

  const sessions: SessionInfo[] = [];
  for (const name of names) {
    const contents = await readJournal(join(root, name));
    if (contents.entries.length === 0) continue;
    sessions.push(toInfo(contents));
  }
  return sessions.sort(newestFirst);
}

function toInfo(contents: JournalContents): SessionInfo {
  const { sessionId, directory, command, target, startedAt, finished } = contents;
  return {
    sessionId,
    directory,
    command,
    target,
    startedAt,
    finished,
    changeCount: contents.changes.length,
  };
}

function newestFirst(a: SessionInfo, b: SessionInfo): number {
  const byTime = (b.startedAt ?? '').localeCompare(a.startedAt ?? '');
  return byTime !== 0 ? byTime : b.sessionId.localeCompare(a.sessionId);
}

/** The latest `fix` session for this target that can be resumed (see the module doc). */
export async function findResumableSession(
  stateDir: string,
  target: Target,
): Promise<SessionInfo | undefined> {
  const sessions = await listSessions(stateDir);
  return sessions.find(
    (session) =>
      session.command === 'fix' &&
      session.target !== undefined &&
      isSameTarget(session.target, target) &&
      (session.finished === undefined || RESUMABLE_OUTCOMES.has(session.finished.outcome)),
  );
}

/** Same subscription, resource group and workspace; Azure names compare case-insensitively. */
export function isSameTarget(a: Target, b: Target): boolean {
  const same = (x: string, y: string) => x.toLowerCase() === y.toLowerCase();
  return (
    same(a.subscriptionId, b.subscriptionId) &&
    same(a.resourceGroup, b.resourceGroup) &&
    same(a.workspaceName, b.workspaceName)
  );
}
