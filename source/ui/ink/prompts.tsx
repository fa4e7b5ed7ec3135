/**
 * The questions the Ink UI asks. Approval and confirmation need an explicit `y`: Enter alone
 * answers nothing, so a stray key press never applies a plan. Esc cancels. Secrets are typed
 * into a hidden input.
 */
import { PasswordInput } from '@inkjs/ui';
import { Box, Text, useInput } from 'ink';
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
    return <YesNoPrompt question={prompt.question} onAnswer={onAnswer} />;
  }
  // The plan may have scrolled away: the tally goes with the question.
  const context = formatTally(prompt.plan).replace(/^Plan: /, '');

  return <YesNoPrompt question="Apply this plan?" context={context} onAnswer={onAnswer} />;
}

interface QuestionProps {
  question: string;
  onAnswer: PromptProps['onAnswer'];
}

function YesNoPrompt({ question, context, onAnswer }: QuestionProps & { context?: string }) {
  useInput((input, key) => {
    if (key.escape) return onAnswer(CANCELLED);

    const letter = input.toLowerCase();
    if (letter === 'y') return onAnswer(true);
    if (letter === 'n') onAnswer(false);
  });

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
  useInput((_input, key) => {
    if (key.escape) onAnswer(CANCELLED);
  });

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
