/** `shir-doctor verify`: health checks and the end-to-end API test; change nothing. */
import { runVerify } from '../remediation/session.js';
import { sessionOptions, withTarget, type CommandContext } from './context.js';

export function verify(context: CommandContext): Promise<number> {
  return withTarget(context, async (opened) => {
    const { exitCode } = await runVerify(sessionOptions(context, opened), context.ui);

    return exitCode;
  });
}
