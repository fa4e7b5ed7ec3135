/**
 * The whole Ink screen as a pure function of the session state and the clock, and the App
 * that binds it to the store, ticks the clock while steps run and turns Ctrl-C into an
 * interrupt request.
 */
import { Spinner } from '@inkjs/ui';
import { Box, Static, Text, useInput, useStdout } from 'ink';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { runningSteps, type SessionState } from '../model.js';
import type { SessionStore } from '../store.js';
import { answerFor, PromptView, type PromptAnswer } from './prompts.js';
import { RunningSteps } from './tasks.js';
import { TranscriptView } from './transcript.js';

/** How often elapsed times tick while a step runs. */
const TICK_MS = 250;

/** Everything the screen is a function of, plus where prompt answers go. */
export interface ScreenProps {
  state: SessionState;
  /** Epoch milliseconds used for the elapsed time of running steps. */
  now: number;
  onAnswer(answer: PromptAnswer): void;
}

export function Screen({ state, now, onAnswer }: ScreenProps) {
  const blocks = state.transcript.map((block, index) => ({ block, index }));
  // Static output is laid out outside the screen box, so it needs the width spelled out.
  const { stdout } = useStdout();
  const width = stdout.columns > 0 ? stdout.columns : 80;

  return (
    <>
      <Static items={blocks}>
        {({ block, index }) => (
          <Box key={index} width={width}>
            <TranscriptView block={block} />
          </Box>
        )}
      </Static>
      <LiveArea state={state} now={now} onAnswer={onAnswer} />
    </>
  );
}

/** Only what still moves: running steps, the open prompt, or a spinner while waiting. */
function LiveArea({ state, now, onAnswer }: ScreenProps) {
  return (
    <Box flexDirection="column">
      {state.prompt === undefined ? null : <PromptView prompt={state.prompt} onAnswer={onAnswer} />}
      <RunningSteps steps={runningSteps(state)} now={now} />
      {isBusy(state) ? <Spinner label={busyLabel(state)} /> : null}
      {state.retries > 0 && state.summary === undefined ? (
        <Text dimColor>Azure asked to retry {state.retries} request(s) so far; retried.</Text>
      ) : null}
    </Box>
  );
}

/** Waiting on the core with nothing else moving on screen. */
function isBusy(state: SessionState): boolean {
  if (state.summary !== undefined || state.prompt !== undefined) return false;
  if (state.isAwaitingDecision) return false;

  return runningSteps(state).length === 0;
}

/** What the core is doing while nothing else moves, by command. */
const WAITING: Record<SessionState['command'], string> = {
  fix: 'Inspecting the workspace…',
  plan: 'Inspecting the workspace…',
  scan: 'Inspecting the workspace…',
  verify: 'Running the checks…',
  rollback: 'Restoring what the session changed…',
};

function busyLabel(state: SessionState): string {
  if (state.header === undefined) return `Starting shir-doctor ${state.command}…`;
  if (state.steps.length === 0) return WAITING[state.command];

  return 'Working…';
}

/** The store to render and the two ways the admin talks back: answers and Ctrl-C. */
export interface AppProps {
  store: SessionStore;
  onAnswer(answer: PromptAnswer): void;
  onInterrupt(): void;
}

export function App({ store, onAnswer, onInterrupt }: AppProps) {
  const state = useSyncExternalStore(store.subscribe, store.getState);
  const isTicking = runningSteps(state).length > 0;
  const now = useNow(isTicking);

  useInput((input, key) => {
    if (key.ctrl && input === 'c') return onInterrupt();

    // The store, not this render's state: a prompt takes keys as soon as it is on screen.
    const prompt = store.getState().prompt;
    const answer = prompt === undefined ? undefined : answerFor(prompt, input, key);
    if (answer !== undefined) onAnswer(answer);
  });

  return <Screen state={state} now={now} onAnswer={onAnswer} />;
}

function useNow(isTicking: boolean): number {
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (!isTicking) return undefined;

    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), TICK_MS);

    return () => clearInterval(timer);
  }, [isTicking]);

  return now;
}
