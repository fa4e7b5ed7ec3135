import { describe, expect, it } from 'vitest';

import type { Decisions, RuntimeView } from '../../source/remediation/context.js';
import {
  MAX_POLL_MS,
  notOnline,
  onlineStep,
  pollDelay,
} from '../../source/remediation/online.js';

const decisions: Decisions = {
  runtimeName: 'shir-doctor-ir',
  isRuntimeNew: true,
  host: { mode: 'create', vmName: 'shirvm' },
  nodeName: 'shirvm',
  staleNodes: [],
  linkedServicesToRewire: [],
  pipelinesToRewire: [],
};

const output = [
  'SHIR-DOCTOR stage=msi status=ok msiExit=0',
  'SHIR-DOCTOR stage=register status=ok node=shirvm',
  'SHIR-DOCTOR stage=done status=ok node=shirvm',
].join('\n');

describe('notOnline', () => {
  it('F11: with no node listed, reports that and the script output despite exit 0', () => {
    const runtime: RuntimeView = { name: 'shir-doctor-ir', type: 'SelfHosted',
      state: 'NeedRegistration', isShared: false, nodes: [] };

    const error = notOnline({ decisions, produced: { installOutput: output } }, runtime, 90_000);

    expect(error.info.code).toBe('node-not-online');
    expect(error.info.what).toContain('within 90 s');
    expect(error.info.what).toContain('node shirvm is not listed');
    expect(error.info.what).toContain('NeedRegistration');
    expect(error.info.why).toContain('stage=done status=ok');
    expect(error.info.fix).toMatch(/registration never reached the service/);
    expect(error.info.fix).toContain('uninstall Microsoft Integration Runtime on shirvm');
  });

  it('F07: a Limited node without service bus gets the egress remedy', () => {
    const runtime: RuntimeView = {
      name: 'shir-doctor-ir', type: 'SelfHosted', state: 'Limited', isShared: false,
      nodes: [{ nodeName: 'shirvm', status: 'Limited',
        capabilities: { serviceBusConnected: 'False', connectedToResourceManager: 'True' } }],
    };

    const error = notOnline({ decisions, produced: {} }, runtime, 60_000);

    expect(error.info.what).toContain('node shirvm is Limited');
    expect(error.info.why).toContain('serviceBusConnected=False');
    expect(error.info.why).toContain('*.servicebus.windows.net');
    expect(error.info.fix).toMatch(/outbound 443 .* \*\.servicebus\.windows\.net/);
  });

  it('waits only after the install', () => {
    expect(onlineStep().dependsOn).toEqual(['install']);
  });
});

describe('pollDelay', () => {
  it('doubles from the tuned interval and stops growing at the cap', () => {
    expect([0, 1, 2, 3].map((poll) => pollDelay(1000, poll))).toEqual([1000, 2000, 4000, 8000]);
    expect(pollDelay(1000, 10)).toBe(MAX_POLL_MS);
    expect(pollDelay(60_000, 3)).toBe(60_000);
  });
});
