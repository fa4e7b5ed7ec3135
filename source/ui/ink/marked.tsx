/**
 * A line with a mark in a fixed column: wrapped text stays indented under the text, not under
 * the mark, so long summaries and plan details stay readable in narrow terminals.
 */
import { Box } from 'ink';
import type { ReactNode } from 'react';

export function Marked({ mark, indent = 0, children }: {
  mark: ReactNode;
  /** Columns before the mark. */
  indent?: number;
  children: ReactNode;
}) {
  return (
    <Box paddingLeft={indent}>
      <Box width={2} flexShrink={0}>
        {mark}
      </Box>
      <Box flexDirection="column" flexShrink={1}>
        {children}
      </Box>
    </Box>
  );
}
