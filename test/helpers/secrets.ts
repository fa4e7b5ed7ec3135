/**
 * Test helpers for secrets. Auth-key-shaped strings are built at run time only, so that no
 * committed file ever contains one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { AUTH_KEY_PATTERN } from '../../source/wire/guest.js';

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

/**
 * Walks `directory` and returns the relative paths of files that contain any needle or an
 * auth-key-shaped string: the F13 check over every artefact a session wrote.
 */
export function scanForLeaks(directory: string, needles: string[] = []): string[] {
  const pattern = new RegExp(AUTH_KEY_PATTERN.source);
  return listFiles(directory)
    .filter((path) => {
      const text = readFileSync(join(directory, path), 'utf8');
      return pattern.test(text) || needles.some((needle) => needle && text.includes(needle));
    })
    .sort();
}

function listFiles(directory: string, prefix = ''): string[] {
  return readdirSync(join(directory, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? join(prefix, entry.name) : entry.name;
    return entry.isDirectory() ? listFiles(directory, path) : entry.isFile() ? [path] : [];
  });
}
