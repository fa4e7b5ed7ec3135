/**
 * The Ink presenter: mounts the App on the terminal and bridges the core's promise-based
 * questions to on-screen prompts.
 *
 * Prompts are served one at a time in the order asked; each resolves when the admin answers,
 * or with CANCELLED on Esc or Ctrl-C. Mount it only when `isInteractive` said so.
 */
import { render, type Instance } from 'ink';
import type { ReadStream, WriteStream } from 'node:tty';
import { CANCELLED, type CommandName, type EventInput } from '../../engine/events.js';
import type { Plan } from '../../engine/types.js';
import { initialState, runningStepTitles, type Prompt } from '../model.js';
import { failureSummary, stamp, type Presenter } from '../presenter.js';
import { createSessionStore, type SessionStore } from '../store.js';
import type { PromptAnswer } from './prompts.js';
import { App } from './screen.js';

/** Where Ink draws and reads keys (the process streams unless given), and hooks. */
export interface InkOptions {
  command: CommandName;
  stdout?: WriteStream | NodeJS.WriteStream;
  stdin?: ReadStream | NodeJS.ReadStream;
  /** Route stray console output above the live area (default true; tests turn it off). */
  patchConsole?: boolean;
  /** Called with every secret the admin types, before the core sees it (the redactor). */
  onSecret?(value: string): void;
}

type YesNo = Promise<boolean | typeof CANCELLED>;
type Secret = Promise<string | typeof CANCELLED>;

interface Pending {
  prompt: Prompt;
  resolve(answer: PromptAnswer): void;
}

export function createInkPresenter(options: InkOptions): Presenter {
  const store = createSessionStore(initialState(options.command));
  const queue: Pending[] = [];
  let onInterrupt = (): void => {};

  const answer = (value: PromptAnswer): void => {
    const current = queue.shift();
    if (current === undefined) return;

    const isApproved = current.prompt.kind === 'approve' ? value === true : undefined;
    store.dispatch({ type: 'prompt.closed', isApproved });
    if (typeof value === 'string') options.onSecret?.(value);
    current.resolve(value);
    openNext(store, queue);
  };
  const instance = render(
    <App store={store} onAnswer={answer} onInterrupt={() => onInterrupt()} />,
    {
      exitOnCtrlC: false,
      patchConsole: options.patchConsole ?? true,
      ...(options.stdout === undefined ? {} : { stdout: options.stdout }),
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    },
  );

  return {
    emit: (input: EventInput) => store.dispatch(stamp(input)),
    approve: (plan: Plan) => ask(store, queue, { kind: 'approve', plan }) as YesNo,
    confirm: (question: string) => ask(store, queue, { kind: 'confirm', question }) as YesNo,
    askSecret: (question: string) => ask(store, queue, { kind: 'secret', question }) as Secret,
    onInterrupt(handler) {
      onInterrupt = handler;
    },
    cancelPrompts() {
      while (queue.length > 0) answer(CANCELLED);
    },
    runningSteps: () => runningStepTitles(store.getState()),
    showError(error) {
      const summary = failureSummary(error);
      store.dispatch(stamp({ type: 'session.finished', summary, exitCode: error.exitCode }));
    },
    close: () => unmount(instance),
  };
}

function ask(store: SessionStore, queue: Pending[], prompt: Prompt): Promise<PromptAnswer> {
  return new Promise((resolve) => {
    queue.push({ prompt, resolve });
    if (queue.length === 1) store.dispatch({ type: 'prompt.opened', prompt });
  });
}

function openNext(store: SessionStore, queue: Pending[]): void {
  const next = queue[0];
  if (next !== undefined) store.dispatch({ type: 'prompt.opened', prompt: next.prompt });
}

/** Lets React commit the last state, then unmounts so Ink prints the final frame and exits. */
async function unmount(instance: Instance): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  instance.unmount();
  await instance.waitUntilExit();
}
