/**
 * Every field scenario shipped in scenarios/ (F01..F20 and the lettered variants) has a
 * scenario test here that names it, and every row has a mutant in mutants.mjs that its test
 * must kill.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = import.meta.dirname;
const scenarioDir = join(here, '..', '..', 'scenarios');

function scenarioIds(): string[] {
  return readdirSync(scenarioDir)
    .filter((name) => /^F\d\d[a-z]?\.json$/.test(name))
    .map((name) => name.replace(/\.json$/, ''));
}

function testText(): string {
  return readdirSync(here)
    .filter((name) => name.endsWith('.test.ts') && name !== 'coverage.test.ts')
    .map((name) => readFileSync(join(here, name), 'utf8'))
    .join('\n');
}

describe('scenario coverage', () => {
  it('runs every shipped scenario, F01 to F20 and the variants', () => {
    const ids = scenarioIds();
    const text = testText();

    expect(ids.length).toBeGreaterThanOrEqual(24);
    for (let row = 1; row <= 20; row += 1) {
      expect(ids).toContain(`F${String(row).padStart(2, '0')}`);
    }
    const untested = ids.filter((id) => !new RegExp(`'${id}'`).test(text));
    expect(untested).toEqual([]);
  });

  it('has at least one mutant for every row, F01 to F20', () => {
    const mutants = readFileSync(join(here, 'mutants.mjs'), 'utf8');
    const rows = new Set([...mutants.matchAll(/^ {2}\['(F\d\d) /gm)].map((match) => match[1]));

    for (let row = 1; row <= 20; row += 1) {
      expect(rows).toContain(`F${String(row).padStart(2, '0')}`);
    }
  });
});
