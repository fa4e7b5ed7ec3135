/**
 * F13: the auth key the emulator issued never reaches an output, log, journal or report; not
 * on success, and not when the VM's script echoes it in output and errors of a failed install.
 * Every artefact is searched for the issued keys, their secret part and AUTH_KEY_PATTERN.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { AzureClients } from '../../source/azure/types.js';
import type { Target } from '../../source/engine/types.js';
import { AUTH_KEY_PATTERN } from '../../source/wire/guest.js';
import { ensureBuilt, runCli } from '../e2e/cli.js';
import { startTestSandbox } from '../helpers/sandbox.js';
import { eventText, filesUnder, run, startScenario, type ScenarioBox } from './harness.js';

let box: ScenarioBox | undefined;
const folders: string[] = [];

afterEach(async () => {
  await box?.cleanup();
  box = undefined;
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** The keys the emulator issued for a runtime, read as an admin would (listAuthKeys). */
async function issuedKeys(clients: AzureClients, target: Target, runtime: string) {
  const keys = await clients.synapse.integrationRuntimeAuthKeysOperations.list(
    target.resourceGroup, target.workspaceName, runtime);
  return [keys.authKey1, keys.authKey2].filter((key): key is string => key !== undefined);
}

/** Names of the artefacts that hold a key, its secret part, or anything key-shaped. */
function leaks(artefacts: Record<string, string>, keys: string[]): string[] {
  const needles = keys.flatMap((key) => [key, key.slice(key.lastIndexOf('@') + 1)]);
  return Object.entries(artefacts)
    .filter(([, text]) => new RegExp(AUTH_KEY_PATTERN.source).test(text) ||
      needles.some((needle) => text.includes(needle)))
    .map(([name]) => name);
}

function expectRealKeys(keys: string[]): void {
  expect(keys).toHaveLength(2);
  for (const key of keys) expect(key).toMatch(new RegExp(`^${AUTH_KEY_PATTERN.source}$`));
}

/** F13 with a guest that echoes the key and whose service never starts: the key in the why. */
function echoingScenario(): string {
  const folder = mkdtempSync(join(tmpdir(), 'shir-f13-'));
  folders.push(folder);
  const path = join(folder, 'F13-echo.json');
  writeFileSync(path, JSON.stringify({ id: 'F13-echo', extends: 'F13', description: 'echo',
    newVmGuest: { image: 'current', echoesAuthKey: true, serviceFailsToStart: true } }));
  return path;
}

describe('F13: the auth key in no artefact', () => {
  it('a whole fix: not in events, journal, session log or reports', async () => {
    box = await startScenario('F13');

    const result = await run(box, 'fix');

    expect(result.summary.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const keys = await issuedKeys(box.clients, box.target, 'shir-doctor-ir');
    expectRealKeys(keys);
    const artefacts = { events: eventText(result.ui), ...filesUnder(box.doctorDir) };
    expect(Object.keys(artefacts).some((name) => name.endsWith('session.log.jsonl'))).toBe(true);
    expect(Object.keys(artefacts).some((name) => name.endsWith('report.md'))).toBe(true);
    expect(leaks(artefacts, keys)).toEqual([]);
  });

  it('a failed install whose script echoes the key: redacted from output and errors',
    async () => {
      box = await startScenario(echoingScenario());

      const result = await run(box, 'fix');

      expect(result.exitCode).toBe(5);
      const keys = await issuedKeys(box.clients, box.target, 'shir-doctor-ir');
      expectRealKeys(keys);
      // The script output reached the product (the echoed command line is reported)...
      expect(result.summary.error?.why).toMatch(/dmgcmd\.exe -RegisterNewNode/);
      // ...and so did the key, unless something redacted it.
      const artefacts = { events: eventText(result.ui), ...filesUnder(box.doctorDir) };
      expect(leaks(artefacts, keys)).toEqual([]);
    });
});

describe('an --api-url with a password', () => {
  it('the password reaches no event, journal, session log or report', async () => {
    box = await startScenario('F01');
    const password = ['Api', 'Pa55', 'word'].join('-');
    const apiUrl = `https://u:${password}@api.partner.example/v1/health`;

    const result = await run(box, 'fix', box.options({}, { apiUrl }));

    expect(result.exitCode).toBe(0);
    const artefacts = { events: eventText(result.ui), ...filesUnder(box.doctorDir) };
    expect(Object.keys(artefacts).length).toBeGreaterThan(3);
    expect(Object.entries(artefacts).filter(([, text]) => text.includes(password))
      .map(([name]) => name)).toEqual([]);
  }, 60_000);
});

describe('F13 through the built CLI', () => {
  beforeAll(ensureBuilt, 180_000);

  it('fix --json: not on stdout, stderr or any file the CLI wrote', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'shir-f13-cli-'));
    folders.push(stateDir);

    const cli = await runCli(['fix', '--sandbox', '--scenario', 'F13', '--yes', '--json',
      '--time-scale', '0', '--state-dir', stateDir]);

    expect(cli.code).toBe(0);
    const sandbox = await startTestSandbox({ scenario: 'F13',
      stateDir: join(stateDir, 'sandbox') });
    const keys = await issuedKeys(sandbox.clients, sandbox.target, 'shir-doctor-ir');
    await sandbox.cleanup();
    expectRealKeys(keys);
    const files = Object.entries(filesUnder(stateDir))
      .filter(([path]) => !path.startsWith(join(stateDir, 'sandbox')));
    const artefacts = { stdout: cli.stdout, stderr: cli.stderr, ...Object.fromEntries(files) };
    expect(files.length).toBeGreaterThan(2);
    expect(leaks(artefacts, keys)).toEqual([]);
  }, 120_000);
});
