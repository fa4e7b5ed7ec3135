/**
 * When the VM cannot resolve *.servicebus.windows.net, the node-not-Online diagnosis blames DNS
 * for that host, not blocked outbound 443.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { CANCELLED, type EventInput, type SessionUI } from '../../source/engine/events.js';
import { runFix, runVerify, type SessionOptions } from '../../source/remediation/session.js';
import { startTestSandbox, FAST_RETRY, type TestSandbox } from '../helpers/sandbox.js';
import { editedF01 } from '../helpers/scenario.js';

function ui(): SessionUI & { events: EventInput[] } {
  const events: EventInput[] = [];
  return { events, emit: (event) => { events.push(event); }, approve: async () => true,
    confirm: async () => true, askSecret: async () => CANCELLED };
}

function options(box: TestSandbox): SessionOptions {
  const secrets = box.sandbox.adminSecrets;
  return {
    target: box.target, connection: box.connection, stateDir: join(box.stateDir, 'doctor'),
    isAutoApproved: true, signal: new AbortController().signal,
    secrets: { resolve: async (key) => secrets[key] },
    tuning: { pollIntervalMs: 20, onlineDeadlineMs: 300, installRetryDelaysMs: [0] },
    retry: FAST_RETRY,
  };
}

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
