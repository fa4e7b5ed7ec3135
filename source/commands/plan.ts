/** `shir-doctor plan`: detect and show the plan; change nothing. */
import { runPlanOnly } from '../remediation/session.js';
import { sessionOptions, withTarget, type CommandContext } from './context.js';

export function plan(context: CommandContext): Promise<number> {
  return withTarget(context, async (opened) => {
    const { exitCode } = await runPlanOnly(sessionOptions(context, opened), context.ui);

    return exitCode;
  });
}
