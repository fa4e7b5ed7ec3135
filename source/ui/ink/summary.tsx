/**
 * The closing screen: outcome, headline, the end-to-end API test, what changed, where the
 * report is and what to run next. The error, when there is one, comes last, fix included.
 */
import { Box, Text } from 'ink';
import type { SessionSummary } from '../../engine/events.js';
import { formatApiTest, isGoodOutcome, OUTCOME_LABEL } from '../format.js';

export function SummaryView({ summary, exitCode }: { summary: SessionSummary; exitCode: number }) {
  const color = isGoodOutcome(summary.outcome) ? 'green' : 'red';
  const apiTest = formatApiTest(summary.isApiReachable);

  return (
    <Box flexDirection="column" marginTop={1} borderStyle="round" borderColor={color} paddingX={1}>
      <Text bold color={color}>
        {OUTCOME_LABEL[summary.outcome]} <Text dimColor>(exit {exitCode})</Text>
      </Text>
      {apiTest === undefined ? null : (
        <Text color={summary.isApiReachable ? 'green' : 'red'}>{apiTest}</Text>
      )}
      <Text>{summary.headline}</Text>
      <Changes changes={summary.changes} />
      {summary.retries > 0 ? <Text dimColor>Retries: {summary.retries}</Text> : null}
      <Reports paths={summary.reportPaths} />
      <NextCommands commands={summary.nextCommands} />
      {summary.error === undefined ? null : (
        <Box flexDirection="column" marginTop={1}>
          {summary.error.what === summary.headline ? null : (
            <Text color="red">{summary.error.what}</Text>
          )}
          {summary.error.why === undefined ? null : <Text dimColor>why: {summary.error.why}</Text>}
          <Text bold>fix: {summary.error.fix}</Text>
        </Box>
      )}
    </Box>
  );
}

function Changes({ changes }: { changes: SessionSummary['changes'] }) {
  const rows = [
    ...changes.created.map((name) => ({ mark: '+', color: 'green', name })),
    ...changes.updated.map((name) => ({ mark: '~', color: 'yellow', name })),
    ...changes.deleted.map((name) => ({ mark: '-', color: 'red', name })),
  ];
  if (rows.length === 0) return null;

  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>Changes</Text>
      {rows.map((row, index) => (
        <Text key={index}>
          {'  '}
          <Text color={row.color}>{row.mark}</Text> {row.name}
        </Text>
      ))}
    </Box>
  );
}

function Reports({ paths }: { paths: SessionSummary['reportPaths'] }) {
  if (paths.markdown === undefined && paths.json === undefined) return null;

  return (
    <Box flexDirection="column" marginTop={1}>
      {paths.markdown === undefined ? null : <Text>Report: {paths.markdown}</Text>}
      {paths.json === undefined ? null : <Text dimColor>Report (JSON): {paths.json}</Text>}
    </Box>
  );
}

function NextCommands({ commands }: { commands: string[] }) {
  if (commands.length === 0) return null;

  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>Next</Text>
      {commands.map((command, index) => (
        <Text key={index} color="cyan">
          {'  '}
          {command}
        </Text>
      ))}
    </Box>
  );
}
