import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

  it('lists linked services through the artifacts client on the dev endpoint', async () => {
    const dev = t.clients.artifacts(await devEndpoint(t));

    const names: string[] = [];
    for await (const item of dev.linkedServiceOperations.listLinkedServicesByWorkspace()) {
      names.push(item.name ?? '');
    }

    expect(names).toContain('RestService');
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

describe('retries against sandbox faults', () => {
  let t: TestSandbox;
  let faultsDir: string;

  beforeAll(async () => {
    faultsDir = mkdtempSync(join(tmpdir(), 'shir-faults-'));
    const faultsFile = join(faultsDir, 'faults.json');
    const rule = { method: 'GET', path: '/linkedservices', status: 429, retryAfter: 0, times: 2 };
    writeFileSync(faultsFile, JSON.stringify([rule]));
    t = await startTestSandbox({ faultsFile });
  });

  afterAll(async () => {
    await t?.cleanup();
    rmSync(faultsDir, { recursive: true, force: true });
  });

  it('retries throttled dev endpoint reads and reports each retry', async () => {
    const dev = t.clients.artifacts(await devEndpoint(t));

    const linked = await dev.linkedServiceOperations.getLinkedService('RestService');

    expect(linked.name).toBe('RestService');
    expect(t.retries.map((retry) => [retry.attempt, retry.statusCode])).toEqual([
      [1, 429],
      [2, 429],
    ]);
  });
});

async function devEndpoint(t: TestSandbox): Promise<string> {
  const { resourceGroup, workspaceName } = t.target;
  const workspace = await t.clients.synapse.workspaces.get(resourceGroup, workspaceName);
  return workspace.connectivityEndpoints!.dev!;
}
