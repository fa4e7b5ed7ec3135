/**
 * A repaired workspace stays repaired: on every scenario the fix repairs, running fix again
 * finds nothing to change and sends no write at all, and the Azure world is as the first run
 * left it.
 */
import { describe, expect, it } from 'vitest';

import type { Target } from '../../source/engine/types.js';
import { run, startScenario, writes } from './harness.js';

const REPAIRED: Array<[string, Partial<Target>]> = [
  ['F01', {}], ['F02', {}], ['F04', {}], ['F05', {}], ['F09', {}], ['F10', {}], ['F12', {}],
  ['F14', {}], ['F15', {}], ['F16', {}], ['F17', { vmName: 'vm-etl-01' }],
  ['F19', { proxyUrl: 'http://proxy.contoso.example:3128' }], ['F20', {}],
];

describe('a second fix after a repair', () => {
  it.each(REPAIRED)('%s: finds nothing to change and writes nothing', async (id, target) => {
    const box = await startScenario(id);
    try {
      const first = await run(box, 'fix', box.options({}, target));
      const written = writes(box).length;

      const second = await run(box, 'fix', box.options({}, target));

      expect(first.summary.error).toBeUndefined();
      expect(first.exitCode).toBe(0);
      expect(second.summary.error).toBeUndefined();
      expect(second.exitCode).toBe(0);
      expect(second.summary.outcome).toBe('healthy');
      expect(writes(box).slice(written)).toEqual([]);
    } finally {
      await box.cleanup();
    }
  });
});
