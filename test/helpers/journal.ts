/**
 * An in-memory Journal for unit tests of steps and the runner: records every call so a test
 * can assert what was journaled, in order.
 */
import type {
  BackedUpKind,
  ChangeIntent,
  ChangeResult,
  Journal,
} from '../../source/engine/step.js';

/** One recorded journal call. */
export type MemoryJournalEntry =
  | { type: 'intent'; id: string; change: ChangeIntent }
  | { type: 'outcome'; id: string; result: ChangeResult }
  | { type: 'backup'; kind: BackedUpKind; name: string; rawBody: string; etag?: string }
  | { type: 'state'; key: string; value: unknown };

export interface MemoryJournal extends Journal {
  entries: MemoryJournalEntry[];
}

export function createMemoryJournal(sessionId = 'test-session'): MemoryJournal {
  const entries: MemoryJournalEntry[] = [];
  const state = new Map<string, unknown>();
  const backups = new Set<string>();
  let count = 0;

  return {
    sessionId,
    directory: `/memory/${sessionId}`,
    entries,
    async intend(change) {
      count += 1;
      const id = `intent-${count}`;
      entries.push({ type: 'intent', id, change });
      return id;
    },
    async conclude(id, result) {
      entries.push({ type: 'outcome', id, result });
    },
    async backup(kind, name, rawBody, etag) {
      const path = `/memory/${sessionId}/backups/${kind}/${name}.json`;
      if (backups.has(path)) return path;

      backups.add(path);
      entries.push({ type: 'backup', kind, name, rawBody, etag });
      return path;
    },
    async remember(key, value) {
      state.set(key, structuredClone(value));
      entries.push({ type: 'state', key, value });
    },
    recall<T>(key: string) {
      return state.get(key) as T | undefined;
    },
  };
}
