/**
 * `shir-doctor scan`: detect only. Reads the workspace and reports what it found, with the
 * evidence; writes nothing to Azure and keeps no journal. The verdict comes from the plan the
 * findings would lead to (computed, not shown): any change in it means the repair is needed.
 *
 * Exit code: 0 nothing to fix, 3 the repair is needed, 4 the workspace is not DEP-locked (the
 * block lies elsewhere and this tool has nothing to change).
 */
import { randomUUID } from 'node:crypto';
import { createClients } from '../azure/clients.js';
import { ExitCode, isDoctorError } from '../engine/errors.js';
import type { SessionSummary } from '../engine/events.js';
import { countPlan, planHasChanges, type Plan } from '../engine/types.js';
import { detect } from '../remediation/detect.js';
import { makePlan } from '../remediation/plan.js';
import { spellNextCommand } from '../remediation/session.js';
import {
  rerunSpelling,
  withTarget,
  type CommandContext,
  type OpenedTarget,
} from './context.js';

export function scan(context: CommandContext): Promise<number> {
  return withTarget(context, (opened) => scanTarget(context, opened));
}

async function scanTarget(context: CommandContext, opened: OpenedTarget): Promise<number> {
  const { ui } = context;
  let retries = 0;
  const clients = createClients(opened.connection, opened.target.subscriptionId, {
    onRetry(info) {
      retries += 1;
      ui.emit({ type: 'retry', ...info });
    },
  });
  ui.emit({
    type: 'session.started',
    sessionId: randomUUID().slice(0, 8),
    command: 'scan',
    target: opened.target,
    mode: opened.mode,
    isResumed: false,
  });

  const found = await detectSummary(context, clients, opened);
  const rerun = rerunSpelling(context.flags);
  const summary = { ...found,
    nextCommands: found.nextCommands.map((command) => spellNextCommand(command, rerun)) };
  const exitCode = summary.error?.exitCode ?? exitCodeOf(summary);
  ui.emit({ type: 'session.finished', summary: { ...summary, retries }, exitCode });

  return exitCode;
}

async function detectSummary(
  context: CommandContext,
  clients: ReturnType<typeof createClients>,
  opened: OpenedTarget,
): Promise<SessionSummary> {
  try {
    const { inventory, findings } = await detect(clients, opened.target);
    for (const finding of findings) context.ui.emit({ type: 'finding', finding });
    if (!inventory.workspace.isDepLocked) return notApplicable();

    return summarise(makePlan(inventory, opened.target).plan);
  } catch (error) {
    if (!isDoctorError(error)) throw error;

    return { ...emptySummary('failed', 'The scan could not finish.'), error: error.info };
  }
}

function notApplicable(): SessionSummary {
  return emptySummary(
    'not-applicable',
    'The workspace is not DEP-locked: the block lies elsewhere and shir-doctor has nothing ' +
      'to change here.',
  );
}

function summarise(plan: Plan): SessionSummary {
  if (!planHasChanges(plan)) {
    return emptySummary('healthy', 'Nothing to fix: the affected connections are repaired.');
  }
  const { create, update, delete: remove } = countPlan(plan);
  const headline = `The workspace needs the repair (${create} to create, ${update} to update, ` +
    `${remove} to delete).`;

  return {
    ...emptySummary('unhealthy', headline),
    nextCommands: ['shir-doctor plan', 'shir-doctor fix'],
  };
}

function emptySummary(outcome: SessionSummary['outcome'], headline: string): SessionSummary {
  return {
    outcome,
    headline,
    changes: { created: [], updated: [], deleted: [] },
    reportPaths: {},
    nextCommands: [],
    retries: 0,
  };
}

function exitCodeOf(summary: SessionSummary): number {
  if (summary.outcome === 'not-applicable') return ExitCode.blocked;
  if (summary.outcome === 'unhealthy') return ExitCode.unhealthy;

  return ExitCode.ok;
}
