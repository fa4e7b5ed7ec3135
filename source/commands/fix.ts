/** `shir-doctor fix`: detect, plan, apply after approval, prove. */
import { runFix } from '../remediation/session.js';
import { sessionOptions, withTarget, type CommandContext } from './context.js';

export function fix(context: CommandContext): Promise<number> {
  return withTarget(context, async (opened) => {
    const { exitCode } = await runFix(sessionOptions(context, opened), context.ui);

    return exitCode;
  });
}
