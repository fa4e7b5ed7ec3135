import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { toDoctorError } from '../../source/azure/errors.js';
import { startTestSandbox, type TestSandbox } from '../helpers/sandbox.js';

describe('product clients against the sandbox', () => {
  let t: TestSandbox;

  beforeAll(async () => {
    t = await startTestSandbox();
  });

  afterAll(() => t?.cleanup());

  it('reads the DEP-locked workspace and its dev endpoint', async () => {
    const { resourceGroup, workspaceName } = t.target;

    const workspace = await t.clients.synapse.workspaces.get(resourceGroup, workspaceName);

    expect(workspace.managedVirtualNetwork).toBe('default');
    expect(workspace.managedVirtualNetworkSettings?.preventDataExfiltration).toBe(true);
    expect(workspace.connectivityEndpoints?.dev).toContain(t.sandbox.endpoint);
  });

  it('maps a missing workspace to a not-found DoctorError naming the flag', async () => {
    const { resourceGroup } = t.target;

    const thrown = await t.clients.synapse.workspaces
      .get(resourceGroup, 'no-such-workspace')
      .catch((error: unknown) => error);
    const error = toDoctorError(thrown, { operation: 'read the workspace', resource: 'ws' });

    expect(error.info.code).toBe('not-found');
    expect(error.info.fix).toContain('--workspace');
  });
});
