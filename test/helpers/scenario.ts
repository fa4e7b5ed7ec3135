/**
 * Scenario files written at run time: a copy of the built-in scenario F01 changed by a test.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const F01 = join(import.meta.dirname, '..', '..', 'scenarios', 'F01.json');

/** Writes a copy of scenario F01 changed by `edit` to a new temporary folder; its path. */
export function editedF01(edit: (scenario: any) => void): string {
  const scenario = JSON.parse(readFileSync(F01, 'utf8'));
  edit(scenario);
  const path = join(mkdtempSync(join(tmpdir(), 'shir-scenario-')), 'scenario.json');
  writeFileSync(path, JSON.stringify(scenario));
  return path;
}

/** The Synapse workspace resource of a scenario. */
export function workspaceOf(scenario: any): any {
  return scenario.resources.find((r: any) => r.type === 'Microsoft.Synapse/workspaces');
}
