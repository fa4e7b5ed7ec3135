import { rootCertificates } from 'node:tls';

import { RestError } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createClients } from '../../source/azure/clients.js';
import { armRoleFix, toDoctorError } from '../../source/azure/errors.js';
import { LoopbackGuardError } from '../../source/azure/policies.js';
import { DoctorError, ExitCode } from '../../source/engine/errors.js';
import { makeAuthKey } from '../helpers/secrets.js';
import { startTestHttpsServer, type TestHttpsServer } from '../helpers/https-server.js';

const SUB = '11111111-2222-4333-8444-555555555555';
const context = { operation: 'create VM shir-vm', resource: 'shir-vm', workspace: 'ws' };

function restError(statusCode: number | undefined, code?: string, message = 'details') {
  return new RestError(message, { statusCode, code });
}

describe('toDoctorError for REST errors', () => {
  it('passes DoctorErrors through untouched', () => {
    const original = new DoctorError({ code: 'mine', what: 'x', fix: 'y' });

    expect(toDoctorError(original, context)).toBe(original);
  });

  it('maps 401 to signing in with az login and the tenant', () => {
    const error = toDoctorError(restError(401, 'InvalidAuthenticationToken'), context);

    expect(error.info.code).toBe('not-signed-in');
    expect(error.info.fix).toContain('az login');
    expect(error.info.fix).toContain('--tenant');
    expect(error.info.exitCode).toBe(ExitCode.blocked);
  });

  it('maps an ARM 403 to the role for the denied action at the resource group scope', () => {
    const scope = `/subscriptions/${SUB}/resourceGroups/rg-net/providers/Microsoft.Network/x`;
    const message =
      "The client 'a@b.c' with object id 'oid' does not have authorization to perform action " +
      `'Microsoft.Network/virtualNetworks/write' over scope '${scope}' or the scope is invalid.`;

    const error = toDoctorError(restError(403, 'AuthorizationFailed', message), {
      ...context,
      plane: 'arm',
    });

    expect(error.info.code).toBe('authorization-failed');
    expect(error.info.fix).toContain('Network Contributor');
    expect(error.info.fix).toContain(`/subscriptions/${SUB}/resourceGroups/rg-net`);
    expect(error.info.fix).not.toContain('Microsoft.Network/x');
  });

  it('picks Virtual Machine Contributor for compute and Contributor otherwise', () => {
    expect(armRoleFix('Microsoft.Compute/virtualMachines/write')).toContain(
      'Virtual Machine Contributor',
    );
    expect(armRoleFix('Microsoft.Synapse/workspaces/integrationRuntimes/write')).toMatch(
      /grant you Contributor on the resource group/,
    );
  });

  it('maps a dev endpoint 403 to the Synapse Administrator role on the workspace', () => {
    const error = toDoctorError(restError(403, 'Unauthorized'), { ...context, plane: 'dev' });

    expect(error.info.fix).toContain('Synapse Administrator role on ws');
  });

  it('names the flag to check for 404s', () => {
    const missingGroup = toDoctorError(restError(404, 'ResourceGroupNotFound'), context);
    const missingThing = toDoctorError(restError(404, 'ResourceNotFound'), context);

    expect(missingGroup.info.fix).toContain('--resource-group');
    expect(missingThing.info.what).toBe('shir-vm was not found (create VM shir-vm).');
    expect(missingThing.info.fix).toContain('--workspace');
  });

  it('distinguishes conflict, ETag conflict, throttling, quota and service errors', () => {
    const codes = [
      restError(409, 'Conflict'),
      restError(412, 'PreconditionFailed'),
      restError(429, 'TooManyRequests'),
      restError(400, 'QuotaExceeded'),
      restError(503, 'ServiceUnavailable'),
      restError(400, 'InvalidParameter'),
    ].map((error) => toDoctorError(error, context).info.code);

    expect(codes).toEqual([
      'conflict',
      'etag-conflict',
      'throttled',
      'quota',
      'service-error',
      'request-rejected',
    ]);
  });

  it('never carries an auth key from the service message into the error', () => {
    const key = makeAuthKey();

    const error = toDoctorError(restError(400, 'BadRequest', `bad key ${key}`), context);

    expect(JSON.stringify(error.info)).not.toContain(key);
  });
});

describe('toDoctorError for other failures', () => {
  it('explains a failed long-running operation', () => {
    const lro = new Error('The long-running operation has failed. InternalError. Disk busy.');

    const error = toDoctorError(lro, context);

    expect(error.info.code).toBe('operation-failed');
    expect(error.info.why).toBe('InternalError. Disk busy.');
    expect(error.info.what).toContain('(create VM shir-vm)');
  });

  it('gives private endpoint and DNS advice when the dev endpoint is unreachable', () => {
    const refused = restError(undefined, 'ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.4:443');

    const error = toDoctorError(refused, { ...context, plane: 'dev' });

    expect(error.info.code).toBe('dev-endpoint-unreachable');
    expect(error.info.fix).toContain('private endpoint');
    expect(error.info.fix).toContain('privatelink.dev.azuresynapse.net');
  });

  it('recognises the dev endpoint from the request URL', () => {
    const error = Object.assign(restError(undefined, 'ENOTFOUND'), {
      request: { url: 'https://ws.dev.azuresynapse.net/linkedservices/Rest' },
    });

    expect(toDoctorError(error, context).info.code).toBe('dev-endpoint-unreachable');
  });

  it('names the proxy CA fix for a certificate failure on the dev endpoint', () => {
    const tls = restError(undefined, 'SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate');

    const error = toDoctorError(tls, { ...context, plane: 'dev' });

    expect(error.info.code).toBe('dev-endpoint-unreachable');
    expect(error.info.fix).toContain('NODE_EXTRA_CA_CERTS');
  });

  it('treats ARM network failures as Azure unreachable', () => {
    const error = toDoctorError(restError(undefined, 'ETIMEDOUT'), { ...context, plane: 'arm' });

    expect(error.info.code).toBe('azure-unreachable');
  });

  it('maps identity errors, aborts and the loopback guard', () => {
    const identity = Object.assign(new Error('no az login'), {
      name: 'CredentialUnavailableError',
    });
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    const guard = new LoopbackGuardError('https://management.azure.com/x');

    expect(toDoctorError(identity, context).info.code).toBe('not-signed-in');
    expect(toDoctorError(abort, context).info.exitCode).toBe(ExitCode.interrupted);
    expect(toDoctorError(guard, context).info).toMatchObject({
      code: 'sandbox-host-refused',
      exitCode: ExitCode.internal,
    });
  });
});

describe('toDoctorError on what the real SDKs throw', () => {
  let server: TestHttpsServer;
  const fast = { retry: { maxRetries: 0, retryDelayInMs: 5 } };
  const vmPath = `/subscriptions/${SUB}/resourcegroups/rg/providers/microsoft.compute`;

  beforeAll(async () => {
    server = await startTestHttpsServer((request, url) => {
      const path = url.pathname.toLowerCase();
      if (path.startsWith('/operations/failed')) {
        const error = { code: 'VMAgentNotReady', message: 'The VM agent is not ready.' };
        return { status: 200, body: { status: 'Failed', error } };
      }
      if (path.endsWith('/integrationruntimes/ir1') && request.method === 'PUT') {
        const poll = `${server.url}/operations/failed?api-version=2021-06-01-preview`;
        return { status: 202, headers: { 'azure-asyncoperation': poll }, body: {} };
      }
      if (path.startsWith(vmPath)) {
        const message =
          "The client 'x' with object id 'y' does not have authorization to perform action " +
          `'Microsoft.Compute/virtualMachines/read' over scope '/subscriptions/${SUB}/` +
          "resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1' or the scope is " +
          'invalid.';
        return { status: 403, body: { error: { code: 'AuthorizationFailed', message } } };
      }
      return undefined;
    });
  });

  afterAll(() => server.close());

  async function caught(call: () => Promise<unknown>): Promise<unknown> {
    try {
      await call();
    } catch (error) {
      return error;
    }
    throw new Error('expected the call to fail');
  }

  it('maps a failed IR creation (plain LRO Error) to operation-failed', async () => {
    const { synapse } = createClients(server.connection, SUB, fast);
    const ir = { properties: { type: 'SelfHosted' as const } };

    const thrown = await caught(() =>
      synapse.integrationRuntimes.beginCreateAndWait('rg', 'ws', 'ir1', ir, {
        updateIntervalInMs: 1,
      }),
    );
    const error = toDoctorError(thrown, { operation: 'create integration runtime ir1' });

    expect(error.info.code).toBe('operation-failed');
    expect(error.info.why).toContain('VMAgentNotReady');
  });

  it('maps a compute 403 to Virtual Machine Contributor on the resource group', async () => {
    const { compute } = createClients(server.connection, SUB, fast);

    const thrown = await caught(() => compute.virtualMachines.get('rg', 'vm1'));
    const error = toDoctorError(thrown, { operation: 'read VM vm1' });

    expect(error.info.fix).toContain(
      `Virtual Machine Contributor on scope /subscriptions/${SUB}/resourceGroups/rg;`,
    );
  });

  it('maps a refused dev endpoint connection to the private endpoint advice', async () => {
    const clients = createClients(server.connection, SUB, fast);
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const dev = clients.artifacts('https://127.0.0.1:1');

    const thrown = await caught(() => dev.linkedServiceOperations.getLinkedService('Rest'));
    const error = toDoctorError(thrown, { operation: 'read linked services', workspace: 'ws' });

    expect(error.info.code).toBe('dev-endpoint-unreachable');
    expect(error.info.why).toContain('ECONNREFUSED');
  });

  it('maps a sign-in that cannot reach Entra ID to a reachability error', async () => {
    const untrusting = { ...server.connection, caPem: rootCertificates[0] };
    const { synapse } = createClients(untrusting, SUB, fast);

    const thrown = await caught(() => synapse.workspaces.get('rg', 'ws'));
    const error = toDoctorError(thrown, { operation: 'read workspace ws', plane: 'arm' });

    expect(error.info.code).toBe('sign-in-unreachable');
    expect(error.info.what).toContain('Entra ID');
  });
});
