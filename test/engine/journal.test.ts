import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import {
  findResumableSession,
  listSessions,
  openJournal,
  readJournal,
} from '../../source/engine/journal.js';
import { clearSecrets, registerSecret } from '../../source/engine/redact.js';
import type { Target } from '../../source/engine/types.js';
import { makeAuthKey } from '../helpers/secrets.js';
import { JOURNAL_SOURCES, transpileSources } from '../helpers/transpile.js';

const target: Target = { subscriptionId: 'sub-1', resourceGroup: 'rg-1', workspaceName: 'ws-1' };
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shir-journal-'));
  dirs.push(dir);
  return dir;
}

function reopen(stateDir: string, sessionId: string) {
  return openJournal({ stateDir, target, command: 'fix', sessionId });
}

let tick = 0;
const clock = () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++));

afterEach(() => {
  clearSecrets();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const createVm = {
  action: 'create',
  kind: 'virtual-machine',
  name: 'vm-shir',
  resourceId: '/subscriptions/sub-1/resourceGroups/rg-1/providers/x/vm-shir',
} as const;

describe('FileJournal', () => {
  it('records intents, outcomes, state and the finish, and reads them back', async () => {
    const stateDir = tempDir();
    const journal = await openJournal({ stateDir, target, command: 'fix', now: clock });

    const done = await journal.intend(createVm);
    await journal.conclude(done, { isOk: true, etag: 'e1' });
    const open = await journal.intend({ ...createVm, name: 'nic', resourceId: '/nic' });
    await journal.remember('vmName', { name: 'vm-shir' });
    await journal.markFinished('fixed');
    await journal.close();

    const contents = await readJournal(journal.directory);
    expect(journal.directory).toBe(join(stateDir, 'sessions', journal.sessionId));
    expect(contents.command).toBe('fix');
    expect(contents.target).toEqual(target);
    expect(contents.changes.map((c) => c.id)).toEqual([done, open]);
    expect(contents.created).toEqual([createVm.resourceId]);
    expect(contents.uncertain.map((c) => c.change.name)).toEqual(['nic']);
    expect(contents.state).toEqual({ vmName: { name: 'vm-shir' } });
    expect(contents.finished?.outcome).toBe('fixed');
    expect(contents.hadTornLine).toBe(false);
  });

  it('reopens a session: state survives, ids continue, and it reads as resumed', async () => {
    const stateDir = tempDir();
    const first = await openJournal({ stateDir, target, command: 'fix' });
    const firstId = await first.intend(createVm);
    await first.remember('step', 3);
    await first.close();

    const again = await reopen(stateDir, first.sessionId);
    const secondId = await again.intend(createVm);
    await again.close();

    expect(again.isResumed).toBe(true);
    expect(first.isResumed).toBe(false);
    expect(again.recall('step')).toBe(3);
    expect(secondId).not.toBe(firstId);
    expect((await readJournal(again.directory)).changes).toHaveLength(2);
  });

  it('keeps the first backup byte for byte, with its ETag, and ignores later ones', async () => {
    const stateDir = tempDir();
    const journal = await openJournal({ stateDir, target, command: 'fix' });
    const original = '{"name":"RestService",  "properties":{"password":"**********"}}\r\n';

    const path = await journal.backup('linked-service', 'RestService', original, 'W/"1"');
    const second = await journal.backup('linked-service', 'RestService', '{"changed":1}', 'W/"2"');
    await journal.close();
    const resumed = await reopen(stateDir, journal.sessionId);
    await resumed.backup('linked-service', 'RestService', '{"changed":2}', 'W/"3"');
    await resumed.close();

    expect(second).toBe(path);
    expect(path).toBe(join(journal.directory, 'backups', 'linked-service', 'RestService.json'));
    expect(readFileSync(path, 'utf8')).toBe(original);
    const meta = JSON.parse(readFileSync(path.replace('.json', '.meta.json'), 'utf8'));
    expect(meta.etag).toBe('W/"1"');
    const contents = await readJournal(journal.directory);
    expect(contents.backups).toEqual([
      { kind: 'linked-service', name: 'RestService', path, etag: 'W/"1"' },
    ]);
  });

  it('lets only one of two concurrent backups of the same item win', async () => {
    const journal = await openJournal({ stateDir: tempDir(), target, command: 'fix' });

    const paths = await Promise.all(
      ['a', 'b', 'c'].map((body) => journal.backup('pipeline', 'Daily', `{"v":"${body}"}`)),
    );
    await journal.close();

    expect(new Set(paths).size).toBe(1);
    expect(['{"v":"a"}', '{"v":"b"}', '{"v":"c"}']).toContain(readFileSync(paths[0], 'utf8'));
    expect((await readJournal(journal.directory)).backups).toHaveLength(1);
  });

  it('refuses a name that would escape the session folder', async () => {
    const journal = await openJournal({ stateDir: tempDir(), target, command: 'fix' });

    await expect(journal.backup('pipeline', '../../evil', '{}')).rejects.toMatchObject({
      info: { code: 'unsafe-name' },
    });
    await journal.close();
  });

  it('never writes secrets: not in entries, state or backups', async () => {
    const stateDir = tempDir();
    const key = makeAuthKey();
    registerSecret('linked-password-1');
    const journal = await openJournal({ stateDir, target, command: 'fix' });

    const id = await journal.intend({ ...createVm, name: `vm ${key}` });
    await journal.conclude(id, { isOk: false, error: `failed: ${key} linked-password-1` });
    await journal.remember('output', `stdout ${key}`);
    await journal.backup('linked-service', 'Rest', `{"key":"${key}"}`);
    await journal.close();

    const files = ['journal.jsonl', 'backups/linked-service/Rest.json'];
    for (const file of files) {
      const text = readFileSync(join(journal.directory, file), 'utf8');
      expect(text).not.toContain(key);
      expect(text).not.toContain('linked-password-1');
    }
    expect(journal.recall('output')).toBe('stdout [redacted]');
  });

  it('keeps journal files private to the user', async () => {
    const journal = await openJournal({ stateDir: tempDir(), target, command: 'fix' });
    await journal.close();

    const mode = statSync(join(journal.directory, 'journal.jsonl')).mode & 0o777;
    expect(mode & 0o077).toBe(0);
  });
});

describe('the session lock', () => {
  it('refuses a session another live process holds', async () => {
    const stateDir = tempDir();
    const journal = await openJournal({ stateDir, target, command: 'fix' });
    await journal.close();
    // The parent of this test process is alive for the whole test.
    writeFileSync(join(journal.directory, 'lock'), `${process.ppid}\n`);

    await expect(reopen(stateDir, journal.sessionId)).rejects.toMatchObject({
      info: { code: 'session-in-use' },
    });
  });

  it('takes over a lock left by a process that is gone, and releases it on close', async () => {
    const stateDir = tempDir();
    const journal = await openJournal({ stateDir, target, command: 'fix' });
    await journal.close();
    const lock = join(journal.directory, 'lock');
    writeFileSync(lock, '999999999\n');

    const again = await reopen(stateDir, journal.sessionId);
    const held = readFileSync(lock, 'utf8').trim();
    await again.close();

    expect(held).toBe(String(process.pid));
    expect(existsSync(lock)).toBe(false);
  });
});

describe('torn writes', () => {
  it('ignores a torn last line and fences it off on the next write', async () => {
    const stateDir = tempDir();
    const journal = await openJournal({ stateDir, target, command: 'fix' });
    await journal.intend(createVm);
    await journal.close();
    appendFileSync(join(journal.directory, 'journal.jsonl'), '{"type":"intent","id":"c00');

    const torn = await readJournal(journal.directory);
    const again = await reopen(stateDir, journal.sessionId);
    await again.intend(createVm);
    await again.close();
    const healed = await readJournal(journal.directory);

    expect(torn.hadTornLine).toBe(true);
    expect(torn.changes).toHaveLength(1);
    expect(healed.changes).toHaveLength(2);
    expect(healed.entries.map((e) => e.type)).toEqual(['opened', 'intent', 'opened', 'intent']);
  });

  it('skips lines that are valid JSON but not entries', async () => {
    const journal = await openJournal({ stateDir: tempDir(), target, command: 'fix' });
    await journal.close();
    appendFileSync(join(journal.directory, 'journal.jsonl'), 'null\n42\n"text"\n');

    const contents = await readJournal(journal.directory);

    expect(contents.entries.map((e) => e.type)).toEqual(['opened']);
    expect(contents.hadTornLine).toBe(true);
  });

  it('survives SIGKILL in the middle of a stream of appends', async () => {
    const stateDir = tempDir();
    const build = join(tempDir(), 'build');
    const [journalJs] = transpileSources(JOURNAL_SOURCES, build);
    const child = spawn(process.execPath, ['--input-type=module', '-e', childScript(journalJs)], {
      env: { ...process.env, STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });

    const { sessionId, acknowledged } = await killAfterAcks(child, 40);
    const contents = await readJournal(join(stateDir, 'sessions', sessionId));
    const resumed = await openJournal({ stateDir, target, command: 'fix', sessionId });
    await resumed.intend(createVm);
    await resumed.close();

    expect(contents.changes.length).toBeGreaterThanOrEqual(acknowledged);
    expect(contents.changes.every((c) => c.change.name.startsWith('item-'))).toBe(true);
    const after = await readJournal(resumed.directory);
    expect(after.changes).toHaveLength(contents.changes.length + 1);
    expect((await findResumableSession(stateDir, target))?.sessionId).toBe(sessionId);
  });
});

function childScript(journalJs: string): string {
  return `
    const { openJournal } = await import(${JSON.stringify(pathToFileURL(journalJs).href)});
    const target = ${JSON.stringify(target)};
    const journal = await openJournal({ stateDir: process.env.STATE_DIR, target, command: 'fix' });
    process.stdout.write('session ' + journal.sessionId + '\\n');
    for (let i = 0; ; i += 1) {
      const change = { action: 'update', kind: 'linked-service', name: 'item-' + i,
        resourceId: '/ls/' + i };
      const id = await journal.intend(change);
      await journal.conclude(id, { isOk: true });
      process.stdout.write('ack\\n');
    }
  `;
}

function killAfterAcks(
  child: ReturnType<typeof spawn>,
  count: number,
): Promise<{ sessionId: string; acknowledged: number }> {
  return new Promise((resolve, reject) => {
    let sessionId = '';
    let acknowledged = 0;
    let buffer = '';
    child.on('error', reject);
    child.on('exit', () => resolve({ sessionId, acknowledged }));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('session ')) sessionId = line.slice(8);
        if (line === 'ack') acknowledged += 1;
      }
      if (acknowledged >= count && !child.killed) child.kill('SIGKILL');
    });
  });
}

describe('session lookup', () => {
  const other: Target = { ...target, workspaceName: 'ws-2' };

  it('lists sessions newest first with their outcome', async () => {
    const stateDir = tempDir();
    const older = await openJournal({ stateDir, target, command: 'fix', now: clock });
    await older.markFinished('fixed');
    await older.close();
    const newer = await openJournal({ stateDir, target: other, command: 'verify', now: clock });
    await newer.close();

    const sessions = await listSessions(stateDir);

    expect(sessions.map((s) => s.sessionId)).toEqual([newer.sessionId, older.sessionId]);
    expect(sessions[1].finished?.outcome).toBe('fixed');
    expect(sessions[0].command).toBe('verify');
    expect(await listSessions(join(stateDir, 'nothing-here'))).toEqual([]);
  });

  it('finds the latest unfinished or interrupted fix session for this target', async () => {
    const stateDir = tempDir();
    const interrupted = await openJournal({ stateDir, target, command: 'fix', now: clock });
    await interrupted.markFinished('interrupted');
    await interrupted.close();
    const finished = await openJournal({ stateDir, target, command: 'fix', now: clock });
    await finished.markFinished('fixed');
    await finished.close();
    const verify = await openJournal({ stateDir, target, command: 'verify', now: clock });
    await verify.close();
    const elsewhere = await openJournal({ stateDir, target: other, command: 'fix', now: clock });
    await elsewhere.close();
    const upperCase = { ...target, workspaceName: 'WS-1' };

    const found = await findResumableSession(stateDir, upperCase);

    expect(found?.sessionId).toBe(interrupted.sessionId);
  });

  it('finds nothing once the session finished successfully', async () => {
    const stateDir = tempDir();
    const journal = await openJournal({ stateDir, target, command: 'fix' });
    await journal.markFinished('fixed');
    await journal.close();

    expect(await findResumableSession(stateDir, target)).toBeUndefined();
  });
});
