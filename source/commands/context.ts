/**
 * What every session command shares: opening the target (the sandbox or Azure), turning the
 * flags into session options, and closing what was opened.
 *
 * This is the only place where the sandbox meets the product: `--sandbox` starts the emulator,
 * and its endpoint, CA and service principal become an ordinary `Connection`.
 */
import { join } from 'node:path';
import type { Connection } from '../azure/types.js';
import type { CommandName } from '../engine/events.js';
import type { Target } from '../engine/types.js';
import type { InfrastructureTuning, SecretSource } from '../remediation/context.js';
import { sandboxTuning } from '../remediation/resources.js';
import type { SessionOptions } from '../remediation/session.js';
import type { Presenter } from '../ui/presenter.js';
import type { SessionFlags } from './args.js';
import { azureSecrets, tableSecrets } from './secrets.js';

/** What a command module gets from the CLI. */
export interface CommandContext {
  command: CommandName;
  flags: SessionFlags;
  ui: Presenter;
  /** Aborted on the first Ctrl-C. */
  signal: AbortSignal;
  isInteractive: boolean;
  env: NodeJS.ProcessEnv;
}

/** A target ready to work on, and how to let go of it. */
export interface OpenedTarget {
  mode: 'sandbox' | 'azure';
  connection: Connection;
  target: Target;
  secrets: SecretSource;
  /** Waits sized for the emulator's pace; real Azure keeps the defaults. */
  tuning?: InfrastructureTuning;
  close(): Promise<void>;
}

/** Opens the target, runs `work`, and always closes the target again. */
export async function withTarget<T>(
  context: CommandContext,
  work: (opened: OpenedTarget) => Promise<T>,
): Promise<T> {
  const opened = context.flags.isSandbox
    ? await openSandbox(context.flags)
    : await openAzure(context);
  try {
    return await work(opened);
  } finally {
    await opened.close();
  }
}

export function sessionOptions(context: CommandContext, opened: OpenedTarget): SessionOptions {
  return {
    target: opened.target,
    connection: opened.connection,
    stateDir: context.flags.stateDir,
    isAutoApproved: context.flags.isAutoApproved,
    signal: context.signal,
    secrets: opened.secrets,
    ...(opened.tuning === undefined ? {} : { tuning: opened.tuning }),
  };
}

async function openSandbox(flags: SessionFlags): Promise<OpenedTarget> {
  const { startSandbox } = await import('../sandbox/index.js');
  const sandbox = await startSandbox({
    stateDir: join(flags.stateDir, 'sandbox'),
    reset: flags.isSandboxReset,
    scenario: flags.scenario,
    timeScale: flags.timeScale,
  });
  const { subscriptionId, resourceGroup, workspaceName } = sandbox.target;

  return {
    mode: 'sandbox',
    connection: {
      kind: 'sandbox',
      endpoint: sandbox.endpoint,
      caPem: sandbox.caPem,
      authorityHost: sandbox.authorityHost,
      tenantId: sandbox.tenantId,
      clientId: sandbox.clientId,
      clientSecret: sandbox.clientSecret,
    },
    target: { subscriptionId, resourceGroup, workspaceName, ...flags.target },
    secrets: tableSecrets(sandbox.adminSecrets),
    tuning: sandboxTuning(flags.timeScale ?? 1),
    close: () => sandbox.close(),
  };
}

async function openAzure(context: CommandContext): Promise<OpenedTarget> {
  const secrets = await azureSecrets({
    secretsFile: context.flags.secretsFile,
    env: context.env,
    ui: context.ui,
    isInteractive: context.isInteractive,
  });

  return {
    mode: 'azure',
    connection: { kind: 'azure' },
    target: context.flags.target as Target,
    secrets,
    close: async () => {},
  };
}
