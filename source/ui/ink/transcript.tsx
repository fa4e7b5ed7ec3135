/**
 * The settled blocks printed once above the live area: the session header, each finding with
 * its evidence, the plan and its decision, finished steps, checks, log lines and the summary.
 */
import { Box, Text } from 'ink';
import type { Finding, Plan, PlanAction, PlanItem, Severity } from '../../engine/types.js';
import { formatTally, PLAN_MARK, resumedNote } from '../format.js';
import type { PlanDecision, SessionHeader, TranscriptBlock } from '../model.js';
import { Marked } from './marked.js';
import { SummaryView } from './summary.js';
import { CheckLine, FinishedStepLine, LogLineView } from './tasks.js';

const SEVERITY_ICON: Record<Severity, { icon: string; color: string }> = {
  ok: { icon: '✔', color: 'green' },
  info: { icon: 'ℹ', color: 'blue' },
  warning: { icon: '⚠', color: 'yellow' },
  problem: { icon: '✘', color: 'red' },
};

const ACTION_COLOR: Record<PlanAction, string> = {
  create: 'green',
  update: 'yellow',
  delete: 'red',
  keep: 'gray',
};

const DECISION_TEXT: Record<PlanDecision, string> = {
  'no-changes': 'No changes: everything already matches the plan.',
  approved: 'Plan approved.',
  declined: 'Plan not applied.',
};

export function TranscriptView({ block }: { block: TranscriptBlock }) {
  switch (block.kind) {
    case 'header':
      return <HeaderView header={block.header} />;
    case 'finding':
      return <FindingView finding={block.finding} />;
    case 'plan':
      return (
        <Box marginTop={1}>
          <PlanView plan={block.plan} />
        </Box>
      );
    case 'decision':
      return <Text dimColor>{DECISION_TEXT[block.decision]}</Text>;
    case 'steps-heading':
    case 'checks-heading':
      return (
        <Box marginTop={1}>
          <Text bold>{block.kind === 'steps-heading' ? 'Steps' : 'Checks'}</Text>
        </Box>
      );
    case 'step':
      return <FinishedStepLine step={block.step} />;
    case 'check':
      return <CheckLine check={block.check} />;
    case 'log':
      return <LogLineView line={block.line} />;
    case 'summary':
      return <SummaryView summary={block.summary} exitCode={block.exitCode} />;
  }
}

export function HeaderView({ header }: { header: SessionHeader }) {
  const { target } = header;

  return (
    <Box flexDirection="column" marginBottom={1}>
      <Text>
        <Text bold>shir-doctor {header.command}</Text>
        <Text dimColor> · </Text>
        <Text color={header.mode === 'sandbox' ? 'magenta' : 'cyan'}>{header.mode}</Text>
        <Text dimColor> · session {header.sessionId}</Text>
        <Text color="yellow">{resumedNote(header.command, header.isResumed)}</Text>
      </Text>
      <Text dimColor>
        workspace <Text bold>{target.workspaceName}</Text> · resource group{' '}
        {target.resourceGroup} · subscription {target.subscriptionId}
      </Text>
    </Box>
  );
}

export function FindingView({ finding }: { finding: Finding }) {
  const { icon, color } = SEVERITY_ICON[finding.severity];

  return (
    <Marked mark={<Text color={color}>{icon}</Text>}>
      <Text>{finding.title}</Text>
      {finding.evidence.map((line, index) => (
        <Marked key={index} indent={2} mark={<Text dimColor>·</Text>}>
          <Text dimColor>{line}</Text>
        </Marked>
      ))}
    </Marked>
  );
}

/** The Terraform-style plan: a coloured mark per item, its evidence, then the tally. */
export function PlanView({ plan }: { plan: Plan }) {
  return (
    <Box flexDirection="column">
      <Text bold>Plan</Text>
      {plan.items.map((item, index) => (
        <PlanItemView key={index} item={item} />
      ))}
      <Text bold>{formatTally(plan)}</Text>
    </Box>
  );
}

function PlanItemView({ item }: { item: PlanItem }) {
  const color = ACTION_COLOR[item.action];

  return (
    <Marked indent={2} mark={<Text color={color} bold>{PLAN_MARK[item.action]}</Text>}>
      <Text>
        <Text dimColor>{item.kind}</Text> <Text bold>{item.name}</Text>
        {item.detail ? <Text color={color}> {item.detail}</Text> : null}
      </Text>
      {item.evidence.map((line, index) => (
        <Box key={index} paddingLeft={2}>
          <Text dimColor>because {line}</Text>
        </Box>
      ))}
    </Marked>
  );
}
