/**
 * `shir-doctor sandbox serve`: runs the embedded Azure emulator on 127.0.0.1 until Ctrl-C and
 * prints what a client needs to reach it (base URL, CA, service principal) as env lines.
 */
import type { TextSink } from '../ui/presenter.js';
import type { ServeFlags } from './args.js';
import { startEmulator } from './context.js';

/** What `sandbox serve` needs from the CLI. */
export interface ServeContext {
  flags: ServeFlags;
  out: TextSink;
  /** Aborted on Ctrl-C: the emulator closes and the command returns. */
  signal: AbortSignal;
}

export async function serve(context: ServeContext): Promise<number> {
  const sandbox = await startEmulator(context.flags);
  context.out.write(`${describeSandbox(sandbox).join('\n')}\n`);

  await untilAborted(context.signal);
  await sandbox.close();

  return 0;
}

/** The lines `serve` prints; env lines can be pasted into a shell. */
export function describeSandbox(sandbox: {
  endpoint: string;
  caPath: string;
  authorityHost: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  target: { subscriptionId: string; resourceGroup: string; workspaceName: string };
  demoApiUrl: string;
}): string[] {
  const { target } = sandbox;

  return [
    `shir-doctor sandbox listening on ${sandbox.endpoint}`,
    `workspace ${target.workspaceName} in ${target.resourceGroup} ` +
      `(subscription ${target.subscriptionId}); partner API stand-in ${sandbox.demoApiUrl}`,
    `SHIR_DOCTOR_SANDBOX_URL=${sandbox.endpoint}`,
    `NODE_EXTRA_CA_CERTS=${sandbox.caPath}`,
    `AZURE_AUTHORITY_HOST=${sandbox.authorityHost}`,
    `AZURE_TENANT_ID=${sandbox.tenantId}`,
    `AZURE_CLIENT_ID=${sandbox.clientId}`,
    `AZURE_CLIENT_SECRET=${sandbox.clientSecret}`,
    'Press Ctrl-C to stop.',
  ];
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();

  return new Promise((resolve) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
