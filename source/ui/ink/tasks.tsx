/**
 * The live task list: a spinner and a ticking elapsed time for each running step, a mark and
 * the final elapsed time for each finished one; then checks and the latest log lines.
 */
import { Spinner } from '@inkjs/ui';
import { Box, Text } from 'ink';
import { formatElapsed } from '../format.js';
import type { CheckView, LogLine, StepView } from '../model.js';
import { Marked } from './marked.js';

export function TaskList({ steps, now }: { steps: StepView[]; now: number }) {
  if (steps.length === 0) return null;

  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>Steps</Text>
      {steps.map((step) => (
        <StepLine key={step.id} step={step} now={now} />
      ))}
    </Box>
  );
}

function StepLine({ step, now }: { step: StepView; now: number }) {
  switch (step.status) {
    case 'running':
      return <RunningStep step={step} now={now} />;
    case 'succeeded':
      return (
        <Marked mark={<Text color="green">✔</Text>}>
          <Text>
            {step.title} <Text dimColor>— {step.summary}</Text>{' '}
            <Text dimColor>({formatElapsed(step.elapsedMs)})</Text>
          </Text>
        </Marked>
      );
    case 'skipped':
      return (
        <Marked mark={<Text dimColor>○</Text>}>
          <Text dimColor>
            {step.title} — skipped: {step.reason}
          </Text>
        </Marked>
      );
    case 'failed':
      return (
        <Marked mark={<Text color="red">✘</Text>}>
          <Text>
            {step.title} <Text dimColor>({formatElapsed(step.elapsedMs)})</Text>
          </Text>
          <Text color="red">{step.error.what}</Text>
          <Text>fix: {step.error.fix}</Text>
        </Marked>
      );
  }
}

type RunningView = Extract<StepView, { status: 'running' }>;

function RunningStep({ step, now }: { step: RunningView; now: number }) {
  const elapsed = formatElapsed(now - step.startedAt);
  const progress = step.progress === undefined ? '' : ` — ${step.progress}`;

  return (
    <Marked mark={<Spinner />}>
      <Text>
        {step.title} <Text color="cyan">({elapsed})</Text>
        <Text dimColor>{progress}</Text>
      </Text>
    </Marked>
  );
}

export function CheckList({ checks }: { checks: CheckView[] }) {
  if (checks.length === 0) return null;

  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>Checks</Text>
      {checks.map((check, index) => (
        <Marked
          key={index}
          mark={
            <Text color={check.isPassing ? 'green' : 'red'}>{check.isPassing ? '✔' : '✘'}</Text>
          }
        >
          <Text>
            {check.name} <Text dimColor>— {check.detail}</Text>
          </Text>
        </Marked>
      ))}
    </Box>
  );
}

export function LogLines({ logs }: { logs: LogLine[] }) {
  if (logs.length === 0) return null;

  return (
    <Box flexDirection="column" marginTop={1}>
      {logs.map((line, index) => (
        <Text
          key={index}
          color={line.level === 'warn' ? 'yellow' : undefined}
          dimColor={line.level === 'info'}
        >
          {line.message}
        </Text>
      ))}
    </Box>
  );
}
