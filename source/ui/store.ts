/**
 * A tiny external store for the session state, so the Ink tree can subscribe to it with
 * `useSyncExternalStore` while the core pushes events from outside React.
 */
import { reduce, type SessionAction, type SessionState } from './model.js';

/** Holds the state, tells subscribers when it changes; `dispatch` runs the reducer. */
export interface SessionStore {
  getState(): SessionState;
  subscribe(listener: () => void): () => void;
  dispatch(action: SessionAction): void;
}

export function createSessionStore(initial: SessionState): SessionStore {
  let state = initial;
  const listeners = new Set<() => void>();

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);

      return () => listeners.delete(listener);
    },
    dispatch(action) {
      state = reduce(state, action);
      for (const listener of listeners) listener();
    },
  };
}
