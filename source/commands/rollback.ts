/**
 * `shir-doctor rollback [--session ID] [--delete-created]`: restore what a session changed.
 * Deleting the resources a session created is destructive, so it needs a yes first: at the
 * prompt, or `--yes`. Without a terminal and without `--yes` nobody can give it, so the
 * command stops before touching anything rather than quietly doing half of what was asked.
 */
import { DoctorError, ExitCode } from '../engine/errors.js';
import { CANCELLED } from '../engine/events.js';
import { runRollback } from '../remediation/session.js';
import { sessionOptions, withTarget, type CommandContext } from './context.js';

export function rollback(context: CommandContext): Promise<number> {
  const { flags } = context;
  if (flags.isDeleteCreated && !flags.isAutoApproved && !context.isInteractive) {
    throw new DoctorError({
      code: 'consent-required',
      what: '--delete-created deletes resources, and nobody is here to confirm it.',
      fix: 'Add --yes to confirm the deletion, or run it in a terminal to be asked.',
      exitCode: ExitCode.usage,
    });
  }

  return withTarget(context, async (opened) => {
    const deleteCreated = await consentToDelete(context);
    const options = {
      ...sessionOptions(context, opened),
      sessionId: context.flags.sessionId,
      deleteCreated,
    };
    const { exitCode } = await runRollback(options, context.ui);

    return exitCode;
  });
}

async function consentToDelete(context: CommandContext): Promise<boolean> {
  if (!context.flags.isDeleteCreated) return false;
  if (context.flags.isAutoApproved) return true;

  const session = context.flags.sessionId ?? 'the latest session';
  const answer = await context.ui.confirm(
    `Delete every resource ${session} created (VM, network, runtime)?`,
  );

  return answer !== CANCELLED && answer;
}
