/**
 * When the VM cannot resolve *.servicebus.windows.net, the node-not-Online diagnosis blames DNS
 * for that host, not blocked outbound 443.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { runFix, runVerify } from '../../source/remediation/session.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { recordingUI as ui, sessionOptions } from '../helpers/session.js';
import { editedF01 } from '../helpers/scenario.js';

/** Gives up on the node quickly: this VM never gets it Online. */
const options = (box: TestSandbox) => sessionOptions(box, { onlineDeadlineMs: 300 });

describe('a VM whose DNS does not resolve *.servicebus.windows.net', () => {
  let box: TestSandbox | undefined;

  afterEach(async () => {
    await box?.cleanup();
    box = undefined;
  });

  it('says DNS resolution failed for the relay host, not that outbound 443 is blocked',
    async () => {
      box = await startTestSandbox({ scenario: editedF01((scenario) => {
        scenario.network = { ...scenario.network,
          unresolvableHosts: ['*.servicebus.windows.net'] };
      }) });

      const result = await runFix(options(box), ui());

      const error = result.summary.error;
      expect(error?.code).toBe('node-not-online');
      expect(error?.why).toMatch(
        /DNS resolution failed for shirdoctorprobe\.servicebus\.windows\.net/);
      expect(error?.why).not.toContain('outbound 443 is blocked');
      expect(error?.fix).toContain('shirdoctorprobe.servicebus.windows.net resolvable from the VM');
      expect(error?.fix).not.toMatch(/Allow outbound 443/);

      const checks = ui();
      const verified = await runVerify(options(box), checks);
      const node = checks.events.find((event) =>
        event.type === 'check' && event.name === 'Node health');
      expect(verified.exitCode).toBe(3);
      expect(node?.type === 'check' && node.detail).toMatch(/DNS resolution failed/);
      expect(node?.type === 'check' && node.detail).not.toContain('outbound 443 is blocked');
    }, 60_000);
});
