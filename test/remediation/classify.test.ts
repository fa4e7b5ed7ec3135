import { describe, expect, it } from 'vitest';

import {
  classifyLinkedService,
  classifyWebActivity,
  hostOf,
  linkedServiceUrl,
} from '../../source/remediation/classify.js';
import type { RuntimeView } from '../../source/remediation/context.js';
import {
  canonicalJson,
  findMaskedSecrets,
  findWebActivities,
  isSameExcept,
  setAt,
} from '../../source/remediation/definitions.js';

const healthyShir: RuntimeView = {
  name: 'existing-shir',
  type: 'SelfHosted',
  state: 'Online',
  isShared: false,
  nodes: [{ nodeName: 'n1', status: 'Online', capabilities: {} }],
};
const offlineShir: RuntimeView = { ...healthyShir, name: 'broken-shir', state: 'Offline',
  nodes: [{ nodeName: 'n2', status: 'Offline', capabilities: {} }] };
const context = { runtimes: [healthyShir, offlineShir], ourRuntimeName: 'shir-doctor-ir' };

function linkedService(type: string, typeProperties: object, connectVia?: string) {
  return {
    name: 'ls',
    properties: {
      type,
      typeProperties,
      ...(connectVia
        ? { connectVia: { referenceName: connectVia, type: 'IntegrationRuntimeReference' } }
        : {}),
    },
  };
}

describe('classifyLinkedService', () => {
  it('marks an internet REST API on the managed runtime as external-api', () => {
    const body = linkedService('RestService', { url: 'https://api.partner.example/v1' },
      'AutoResolveIntegrationRuntime');

    const verdict = classifyLinkedService(body, context);

    expect(verdict.classification).toBe('external-api');
    expect(verdict.host).toBe('api.partner.example');
  });

  it('sends Azure storage and SQL to a managed private endpoint instead', () => {
    const blob = linkedService('AzureBlobFS', { url: 'https://acct.dfs.core.windows.net' });
    const sql = linkedService('AzureSqlDatabase', {
      connectionString: 'Server=tcp:db1.database.windows.net,1433;Database=x',
    });
    const vault = linkedService('AzureKeyVault', { baseUrl: 'https://kv1.vault.azure.net' });

    expect(classifyLinkedService(blob, context).classification).toBe('azure-private-link');
    expect(classifyLinkedService(sql, context).classification).toBe('azure-private-link');
    expect(classifyLinkedService(vault, context).classification).toBe('azure-private-link');
  });

  it('leaves a service on a healthy self-hosted runtime alone', () => {
    const body = linkedService('HttpServer', { url: 'https://x.example' }, 'existing-shir');

    expect(classifyLinkedService(body, context).classification).toBe('on-shir');
  });

  it('does not trust an unhealthy self-hosted runtime that is not ours', () => {
    const body = linkedService('HttpServer', { url: 'https://x.example' }, 'broken-shir');

    expect(classifyLinkedService(body, context).classification).toBe('external-api');
  });

  it('routes a storage account in a tenant DEP cannot link to through the SHIR (F04)', () => {
    const body = linkedService('AzureBlobFS', { url: 'https://partnerlake.dfs.core.windows.net',
      tenant: 'AAAA' });
    const tenants = { home: 'home-tenant', allowed: ['BBBB'] };

    const verdict = classifyLinkedService(body, { ...context, tenants });
    const allowed = classifyLinkedService(body, { ...context,
      tenants: { home: 'home-tenant', allowed: ['aaaa'] } });

    expect(verdict.classification).toBe('external-api');
    expect(verdict.evidence.join(' ')).toContain('allowedAadTenantIdsForLinking');
    expect(allowed.classification).toBe('azure-private-link');
  });

  it('calls a service whose URL is an expression internal', () => {
    const body = linkedService('RestService', { url: '@linkedService().baseUrl' });

    expect(classifyLinkedService(body, context).classification).toBe('internal');
  });
});

describe('classifyWebActivity', () => {
  it('flags a Web activity with no connectVia calling the internet', () => {
    const verdict = classifyWebActivity({ name: 'a', url: 'https://api.partner.example/x' },
      context);

    expect(verdict.classification).toBe('external-api');
  });
});

describe('wire helpers', () => {
  it('reads hosts and URLs from connection strings', () => {
    expect(hostOf('https://API.Example.com/v1')).toBe('api.example.com');
    expect(linkedServiceUrl({ typeProperties: {
      connectionString: 'DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=**',
    } })).toBe('https://acct1.blob.core.windows.net');
  });

  it('reads a host from JDBC-style and key-value connection strings', () => {
    expect(linkedServiceUrl({ typeProperties: {
      connectionString: 'jdbc:snowflake://acme.snowflakecomputing.com/?user=etl',
    } })).toBe('https://acme.snowflakecomputing.com');
    expect(linkedServiceUrl({ typeProperties: {
      connectionString: 'Host=db.partner.example;Port=5432;Database=x',
    } })).toBe('https://db.partner.example');
  });

  it('finds every masked SecureString, with escaped pointer tokens', () => {
    const properties = {
      typeProperties: {
        authHeaders: { 'x-api-key': { type: 'SecureString', value: '**********' } },
        'a/b': { type: 'SecureString', value: '**********' },
        clear: { type: 'SecureString', value: 'not-masked' },
      },
    };

    expect(findMaskedSecrets(properties)).toEqual([
      '/typeProperties/authHeaders/x-api-key',
      '/typeProperties/a~1b',
    ]);
  });

  it('finds Web activities inside containers with their pointers', () => {
    const properties = { activities: [
      { name: 'w1', type: 'WebActivity', typeProperties: { url: 'https://a.example' } },
      { name: 'loop', type: 'ForEach', typeProperties: { activities: [
        { name: 'w2', type: 'WebActivity', typeProperties: { url: 'https://b.example' } },
      ] } },
    ] };

    const found = findWebActivities(properties).map((item) => item.pointer);

    expect(found).toEqual(['/activities/0', '/activities/1/typeProperties/activities/0']);
  });

  it('compares definitions canonically, ignoring only the given pointers', () => {
    const left = { b: 1, a: { y: [1, 2], x: 'v' }, connectVia: { referenceName: 'A' } };
    const right = { a: { x: 'v', y: [1, 2] }, connectVia: { referenceName: 'B' }, b: 1 };
    const changed = structuredClone(right);
    setAt(changed, '/a/y/1', 3);

    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    expect(isSameExcept(left, right, ['/connectVia'])).toBe(true);
    expect(isSameExcept(left, right, [])).toBe(false);
    expect(isSameExcept(left, changed, ['/connectVia'])).toBe(false);
  });
});
