/**
 * The questions the Ink UI asks. Approval and confirmation need an explicit `y`: Enter alone
 * answers nothing, so a stray key press never applies a plan. Esc cancels. Secrets are typed
 * into a hidden input.
 *
 * The App routes y, n and Esc through `answerFor` from its own key handler, which is listening
 * before any prompt shows: a handler of the prompt's own would start only after its first
 * frame is on screen, and a key pressed in between would be lost.
 */
import { PasswordInput } from '@inkjs/ui';
import { Box, Text, type Key } from 'ink';
import { CANCELLED } from '../../engine/events.js';
import { formatTally } from '../format.js';
import type { Prompt } from '../model.js';

/** What a prompt resolves with. */
export type PromptAnswer = boolean | string | typeof CANCELLED;

/** The open prompt and where its answer goes. */
export interface PromptProps {
  prompt: Prompt;
  onAnswer(answer: PromptAnswer): void;
}

export function PromptView({ prompt, onAnswer }: PromptProps) {
  if (prompt.kind === 'secret') {
    return <SecretPrompt question={prompt.question} onAnswer={onAnswer} />;
  }

  if (prompt.kind === 'confirm') {
    return <YesNoPrompt question={prompt.question} />;
  }
  // The plan may have scrolled away: the tally goes with the question.
  const context = formatTally(prompt.plan).replace(/^Plan: /, '');

  return <YesNoPrompt question="Apply this plan?" context={context} />;
}

/**
 * The answer a key press gives to the open prompt, if any (typing a secret is not one). Keys
 * typed quickly can arrive as one chunk (Enter then n reads as "\rn"): what counts is the one
 * letter left without the line breaks; a longer chunk, such as a paste, answers nothing.
 */
export function answerFor(prompt: Prompt, input: string, key: Key): PromptAnswer | undefined {
  if (key.escape) return CANCELLED;
  if (prompt.kind === 'secret') return undefined;

  const letter = input.replace(/[\r\n]/g, '').toLowerCase();
  if (letter === 'y') return true;
  if (letter === 'n') return false;

  return undefined;
}

interface QuestionProps {
  question: string;
  onAnswer: PromptProps['onAnswer'];
}

function YesNoPrompt({ question, context }: Omit<QuestionProps, 'onAnswer'> & {
  context?: string;
}) {
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text color="cyan" bold>
          ?{' '}
        </Text>
        <Text bold>{question}</Text> <Text dimColor>[y/n]</Text>
      </Text>
      {context === undefined ? null : <Text>{context}</Text>}
      <Text dimColor>
        Press y to go ahead, n to stop (Esc cancels). Enter alone does nothing.
      </Text>
    </Box>
  );
}

function SecretPrompt({ question, onAnswer }: QuestionProps) {
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text color="cyan" bold>
          ?{' '}
        </Text>
        <Text bold>{question}</Text>
      </Text>
      <Box>
        <Text dimColor>{'  '}secret (hidden): </Text>
        <PasswordInput placeholder="type, then Enter" onSubmit={(value) => onAnswer(value)} />
      </Box>
      <Text dimColor>The value stays in memory for this session only. Esc cancels.</Text>
    </Box>
  );
}
