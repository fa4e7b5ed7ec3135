/**
 * Test helpers for secrets. Auth-key-shaped strings are built at run time only, so that no
 * committed file ever contains one.
 */
import { randomBytes, randomUUID } from 'node:crypto';

/** Builds a fresh string shaped like an integration runtime auth key (AZURE-WIRE.md). */
export function makeAuthKey(
  workspace = 'ws-test',
  host = 'sb-test.servicebus.windows.net',
): string {
  const parts = ['IR', randomUUID(), workspace, `ServiceEndpoint=${host}`];
  return [...parts, randomBytes(24).toString('base64')].join('@');
}

/** Returns the paths (relative to the list given) of texts that contain any needle. */
export function findLeaks(texts: Record<string, string>, needles: string[]): string[] {
  return Object.entries(texts)
    .filter(([, text]) => needles.some((needle) => text.includes(needle)))
    .map(([name]) => name);
}
