import { createServer, type AddressInfo, type Server } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createClients } from '../../source/azure/clients.js';
import { toDoctorError } from '../../source/azure/errors.js';
import { LOOPBACK_GUARD_CODE, type RetryInfo } from '../../source/azure/policies.js';
import type { Connection } from '../../source/azure/types.js';
import { clearSecrets, redact } from '../../source/engine/redact.js';
import {
  requestedScopes,
  startTestHttpsServer,
  type TestHttpsServer,
  type TestReply,
} from '../helpers/https-server.js';

const SUB = '11111111-2222-4333-8444-555555555555';
const RG_PATH = `/subscriptions/${SUB}/resourceGroups/rg`;
const WS_PATH = `${RG_PATH}/providers/Microsoft.Synapse/workspaces/ws`;

let server: TestHttpsServer;
let flaky = 0;
let throttled = 0;
let bare429 = 0;

function route(request: { method: string }, url: URL): TestReply | undefined {
  const path = url.pathname.toLowerCase();
  if (path === WS_PATH.toLowerCase()) {
    return { status: 200, body: { name: 'ws', id: WS_PATH, location: 'westeurope' } };
  }
  if (path.endsWith('/virtualmachines/vm1')) {
    return { status: 200, body: { name: 'vm1', location: 'westeurope', properties: {} } };
  }
  if (path.endsWith('/virtualnetworks/vnet1')) {
    return { status: 200, body: { name: 'vnet1', location: 'westeurope', properties: {} } };
  }
  if (path === '/linkedservices/rest') {
    return { status: 200, body: { name: 'Rest', properties: { type: 'RestService' } } };
  }
  if (path === '/linkedservices/throttled') {
    throttled += 1;
    if (throttled === 1) {
      const error = { code: 'TooManyRequests', message: 'Slow down.' };
      return { status: 429, headers: { 'retry-after': '0' }, body: { error } };
    }
    return { status: 200, body: { name: 'throttled', properties: { type: 'RestService' } } };
  }
  if (path === '/linkedservices/bare429') {
    bare429 += 1;
    return { status: 429, body: { error: { code: 'TooManyRequests', message: 'Slow down.' } } };
  }
  if (path.endsWith('/virtualnetworks/flaky') && request.method === 'GET') {
    flaky += 1;
    if (flaky === 1) return { status: 503, headers: { 'retry-after': '0' }, body: {} };
    if (flaky === 2) return { status: 500, body: { error: { code: 'x', message: 'boom' } } };
    return { status: 200, body: { name: 'flaky', properties: {} } };
  }
  return undefined;
}

beforeAll(async () => {
  server = await startTestHttpsServer(route);
});

afterAll(async () => {
  clearSecrets();
  await server.close();
});

function sandbox(overrides: Partial<Extract<Connection, { kind: 'sandbox' }>> = {}): Connection {
  return { ...server.connection, ...overrides };
}

const fast = { retry: { retryDelayInMs: 5, maxRetryDelayInMs: 20 } };

describe('createClients in sandbox mode', () => {
  it('points every SDK client at the sandbox, trusting its CA', async () => {
    const clients = createClients(sandbox(), SUB, fast);

    const workspace = await clients.synapse.workspaces.get('rg', 'ws');
    const vm = await clients.compute.virtualMachines.get('rg', 'vm1');
    const vnet = await clients.network.virtualNetworks.get('rg', 'vnet1');
    const dev = clients.artifacts(server.url);
    const linked = await dev.linkedServiceOperations.getLinkedService('Rest');

    expect(workspace.location).toBe('westeurope');
    expect(vm.name).toBe('vm1');
    expect(vnet.name).toBe('vnet1');
    expect(linked.name).toBe('Rest');
  });

  it('asks Entra ID for the same scopes as real Azure', async () => {
    const before = requestedScopes(server).length;
    const clients = createClients(sandbox(), SUB, fast);

    await clients.network.virtualNetworks.get('rg', 'vnet1');
    await clients.artifacts(server.url).linkedServiceOperations.getLinkedService('Rest');

    const scopes = requestedScopes(server).slice(before).map((s) => s.split(' ')[0]);
    expect(scopes).toEqual([
      'https://management.azure.com/.default',
      'https://dev.azuresynapse.net/.default',
    ]);
  });

  it('reuses one artifacts client per dev endpoint', () => {
    const clients = createClients(sandbox(), SUB);

    expect(clients.artifacts(server.url)).toBe(clients.artifacts(server.url));
  });

  it('registers the sandbox client secret with the redactor', () => {
    createClients(sandbox({ clientSecret: 'sandbox-secret-xyz' }), SUB);

    expect(redact('secret=sandbox-secret-xyz')).toBe('secret=[redacted]');
  });

  it('reports every retry with its status and attempt', async () => {
    const retries: RetryInfo[] = [];
    const clients = createClients(sandbox(), SUB, { ...fast, onRetry: (r) => retries.push(r) });

    const vnet = await clients.network.virtualNetworks.get('rg', 'flaky');

    expect(vnet.name).toBe('flaky');
    expect(retries.map((r) => [r.attempt, r.statusCode])).toEqual([
      [1, 503],
      [2, 500],
    ]);
    expect(retries[0].operation).toMatch(/^GET \/subscriptions\/.*\/virtualNetworks\/flaky$/);
    expect(retries.every((r) => r.delayMs >= 0)).toBe(true);
  });
});

describe('throttling on the dev endpoint', () => {
  it('retries a 429 with Retry-After and reports it', async () => {
    const retries: RetryInfo[] = [];
    const clients = createClients(sandbox(), SUB, { ...fast, onRetry: (r) => retries.push(r) });
    const dev = clients.artifacts(server.url);

    const linked = await dev.linkedServiceOperations.getLinkedService('throttled');

    expect(linked.name).toBe('throttled');
    expect(retries).toEqual([
      expect.objectContaining({ attempt: 1, statusCode: 429, operation: expect.any(String) }),
    ]);
  });

  it('does not retry a bare 429, and maps it to throttled', async () => {
    const retries: RetryInfo[] = [];
    const clients = createClients(sandbox(), SUB, { ...fast, onRetry: (r) => retries.push(r) });
    const dev = clients.artifacts(server.url);

    const thrown = await dev.linkedServiceOperations
      .getLinkedService('bare429')
      .catch((error: unknown) => error);

    expect(bare429).toBe(1);
    expect(retries).toEqual([]);
    expect(toDoctorError(thrown, { operation: 'read linked service bare429' }).info.code).toBe(
      'throttled',
    );
  });
});

describe('the loopback guard', () => {
  // 127.0.0.2 is on this machine but not an allowed name. A listener there counts connections:
  // had the guard let a request through, it would have stayed local and been counted.
  let trap: Server;
  let connections = 0;
  const elsewhere = () => `https://127.0.0.2:${(trap.address() as AddressInfo).port}`;

  beforeAll(async () => {
    trap = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.2', resolve));
  });

  afterAll(() => new Promise<void>((resolve) => trap.close(() => resolve())));

  async function codeOfFailure(call: () => Promise<unknown>): Promise<string | undefined> {
    try {
      await call();
    } catch (error) {
      return String((error as { code?: string }).code ?? (error as Error).message);
    }
    return 'no error';
  }

  it('is on the synapse, compute, network and artifacts clients', async () => {
    const clients = createClients(sandbox({ endpoint: elsewhere() }), SUB, fast);
    const before = server.requests.length;

    const codes = [
      await codeOfFailure(() => clients.synapse.workspaces.get('rg', 'ws')),
      await codeOfFailure(() => clients.compute.virtualMachines.get('rg', 'vm1')),
      await codeOfFailure(() => clients.network.virtualNetworks.get('rg', 'vnet1')),
      await codeOfFailure(() =>
        clients.artifacts(elsewhere()).linkedServiceOperations.getLinkedService('Rest'),
      ),
    ];

    expect(codes).toEqual(Array(4).fill(LOOPBACK_GUARD_CODE));
    const nonToken = server.requests.slice(before).filter((r) => !/oauth2|openid/.test(r.path));
    expect(nonToken).toEqual([]);
    expect(connections).toBe(0);
  });

  it('is on the credential too', async () => {
    const connection = sandbox({ authorityHost: elsewhere() });
    const clients = createClients(connection, SUB, fast);

    const before = server.requests.length;

    const failure = await codeOfFailure(() => clients.synapse.workspaces.get('rg', 'ws'));

    expect(failure).not.toBe('no error');
    expect(connections).toBe(0);
    expect(server.requests.length).toBe(before);
  });

  it('is not added in Azure mode', () => {
    const azure = createClients({ kind: 'azure' }, SUB);
    const local = createClients(sandbox(), SUB);
    const names = (client: { pipeline: { getOrderedPolicies(): { name: string }[] } }) =>
      client.pipeline.getOrderedPolicies().map((policy) => policy.name);

    expect(names(azure.synapse)).not.toContain('shirDoctorLoopbackGuard');
    expect(names(local.synapse)).toContain('shirDoctorLoopbackGuard');
    expect(names(local.compute)).toContain('shirDoctorLoopbackGuard');
    expect(names(local.network)).toContain('shirDoctorLoopbackGuard');
    expect(names(local.artifacts(server.url))).toContain('shirDoctorLoopbackGuard');
  });
});
