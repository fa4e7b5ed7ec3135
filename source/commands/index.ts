/**
 * Runs the session command the command line asked for. Loaded after the first frame, and each
 * command module only when chosen, since they pull in the Azure SDKs and the session code.
 */
import type { CommandName } from '../engine/events.js';
import type { CommandContext } from './context.js';

type Command = (context: CommandContext) => Promise<number>;

const COMMANDS: Record<CommandName, () => Promise<Command>> = {
  fix: async () => (await import('./fix.js')).fix,
  plan: async () => (await import('./plan.js')).plan,
  verify: async () => (await import('./verify.js')).verify,
  rollback: async () => (await import('./rollback.js')).rollback,
  scan: async () => (await import('./scan.js')).scan,
};

export async function runCommand(context: CommandContext): Promise<number> {
  const command = await COMMANDS[context.command]();

  return command(context);
}
