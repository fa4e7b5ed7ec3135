/**
 * Starts the embedded emulator for a test and builds the product's own clients against it
 * (source/azure/clients.ts: loopback guard, retry reporting), in a fresh temporary state folder
 * with timeScale 0. Call `cleanup` in afterAll/afterEach: it closes the sandbox and removes the
 * folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createClients } from '../../source/azure/clients.js';
import type { RetryInfo } from '../../source/azure/policies.js';
import type { AzureClients, Connection } from '../../source/azure/types.js';
import { sandboxConnection } from '../../source/commands/context.js';
import type { Target } from '../../source/engine/types.js';
import {
  startSandbox,
  type SandboxHandle,
  type SandboxOptions,
} from '../../source/sandbox/index.js';

/** Options for `startTestSandbox`; every SandboxOptions field may be overridden. */
export interface TestSandboxOptions extends Partial<SandboxOptions> {
  /** Called for every retry the clients make (e.g. to assert F20 retries). */
  onRetry?: (info: RetryInfo) => void;
}

export interface TestSandbox {
  sandbox: SandboxHandle;
  clients: AzureClients;
  connection: Connection;
  /** The scenario's target as the product's Target type. */
  target: Target;
  stateDir: string;
  /** Every retry the clients reported, in order. */
  retries: RetryInfo[];
  cleanup(): Promise<void>;
}

/** Fast LRO polling for begin…AndWait calls in tests. */
export const FAST_POLL = { updateIntervalInMs: 0 };

/** Retry options that keep tests quick but still exercise the retry path. */
export const FAST_RETRY = { retryDelayInMs: 5, maxRetryDelayInMs: 20 };

/** Starts a sandbox (scenario F01 unless told) and the product clients for it. */
export async function startTestSandbox(options: TestSandboxOptions = {}): Promise<TestSandbox> {
  const { onRetry, ...sandboxOptions } = options;
  const stateDir = sandboxOptions.stateDir ?? mkdtempSync(join(tmpdir(), 'shir-test-sandbox-'));
  const sandbox = await startSandbox({ timeScale: 0, ...sandboxOptions, stateDir });

  const connection = toConnection(sandbox);
  const retries: RetryInfo[] = [];
  const report = (info: RetryInfo) => {
    retries.push(info);
    onRetry?.(info);
  };
  const clients = createClients(connection, sandbox.target.subscriptionId, {
    onRetry: report,
    retry: FAST_RETRY,
  });

  const { subscriptionId, resourceGroup, workspaceName } = sandbox.target;
  const target: Target = { subscriptionId, resourceGroup, workspaceName };
  const isOwnFolder = sandboxOptions.stateDir === undefined;
  const cleanup = async () => {
    await sandbox.close();
    if (isOwnFolder) rmSync(stateDir, { recursive: true, force: true });
  };
  return { sandbox, clients, connection, target, stateDir, retries, cleanup };
}

/** The Connection the product uses for a running sandbox. */
export function toConnection(sandbox: SandboxHandle): Connection {
  return sandboxConnection(sandbox);
}

/** The stored (unmasked) `properties` of a linked service or pipeline, as the emulator keeps it. */
export function stored(box: TestSandbox, kind: 'linkedservices' | 'pipelines', name: string): any {
  const body = box.sandbox.peek(`/dev/${box.target.workspaceName}/${kind}/${name}`) as
    { properties?: unknown } | undefined;
  return body === undefined ? undefined : structuredClone(body.properties);
}
