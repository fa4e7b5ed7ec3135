import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxHandle } from '../../source/sandbox/index.js';
import { clients, start } from './helpers.js';

describe('smoke', () => {
  let sb: SandboxHandle;
  beforeAll(async () => { sb = await start(); });
  afterAll(async () => { await sb?.close(); });

  it('gets the workspace through ClientSecretCredential', async () => {
    const c = clients(sb);
    const ws = await c.synapse.workspaces.get(sb.target.resourceGroup, sb.target.workspaceName);
    expect(ws.managedVirtualNetwork).toBe('default');
    expect(ws.connectivityEndpoints?.dev).toContain(sb.endpoint);
  });
});
