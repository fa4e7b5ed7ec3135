/**
 * Nothing changes before the admin approves: on every shipped scenario, `plan` and a declined
 * `fix` send no write to the emulator (no PUT, PATCH, DELETE or action POST).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { recordingUI, run, startScenario, writes } from './harness.js';

const ids = readdirSync(join(import.meta.dirname, '..', '..', 'scenarios'))
  .filter((name) => /^F\d\d[a-z]?\.json$/.test(name))
  .map((name) => name.replace(/\.json$/, ''));

describe('no change without approval, on every scenario', () => {
  it.each(ids)('%s: plan and a declined fix write nothing', async (id) => {
    const box = await startScenario(id);
    try {
      const planned = await run(box, 'plan');
      const declined = await run(box, 'fix', box.options({ isAutoApproved: false }),
        recordingUI({ approve: false }));

      expect(writes(box)).toEqual([]);
      expect(planned.summary.changes).toEqual({ created: [], updated: [], deleted: [] });
      expect([4, 6]).toContain(declined.exitCode);
      expect(declined.ui.events.some((event) => event.type === 'step.started')).toBe(false);
    } finally {
      await box.cleanup();
    }
  });
});
