/**
 * Task list lines: a spinner and a ticking elapsed time for each running step (live area), a
 * mark and the final elapsed time for each finished one (printed once); check and log lines.
 */
import { Spinner } from '@inkjs/ui';
import { Box, Text } from 'ink';
import { formatElapsed } from '../format.js';
import type { CheckView, FinishedStep, LogLine, StepView } from '../model.js';
import { Marked } from './marked.js';

type RunningView = Extract<StepView, { status: 'running' }>;

/** An elapsed time whose spaces never break: a narrow terminal wraps before "(0.7 s)". */
function duration(ms: number): string {
  return formatElapsed(ms).replaceAll(' ', '\u00a0');
}

/** The running steps with spinners; nothing when no step runs. */
export function RunningSteps({ steps, now }: { steps: RunningView[]; now: number }) {
  if (steps.length === 0) return null;

  return (
    <Box flexDirection="column">
      {steps.map((step) => (
        <RunningStep key={step.id} step={step} now={now} />
      ))}
    </Box>
  );
}

function RunningStep({ step, now }: { step: RunningView; now: number }) {
  const elapsed = duration(now - step.startedAt);
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

export function FinishedStepLine({ step }: { step: FinishedStep }) {
  switch (step.status) {
    case 'succeeded':
      return (
        <Marked mark={<Text color="green">✔</Text>}>
          <Text>
            {step.title} <Text dimColor>— {step.summary}</Text>{' '}
            <Text dimColor>({duration(step.elapsedMs)})</Text>
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
            {step.title} <Text dimColor>({duration(step.elapsedMs)})</Text>
          </Text>
          <Text color="red">{step.error.what}</Text>
          <Text>fix: {step.error.fix}</Text>
        </Marked>
      );
  }
}

export function CheckLine({ check }: { check: CheckView }) {
  const mark = check.isPassing ? <Text color="green">✔</Text> : <Text color="red">✘</Text>;

  return (
    <Marked mark={mark}>
      <Text>
        {check.name} <Text dimColor>— {check.detail}</Text>
      </Text>
    </Marked>
  );
}

export function LogLineView({ line }: { line: LogLine }) {
  if (line.level === 'warn') return <Text color="yellow">{line.message}</Text>;

  return <Text dimColor>{line.message}</Text>;
}
