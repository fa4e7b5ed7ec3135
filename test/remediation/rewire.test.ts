/**
 * Rewire and backup against a small in-memory dev endpoint behind the real ArtifactsClient
 * (its `httpClient` option): GET masks SecureStrings, PUT stores exactly what it is sent and
 * answers 202 + Location, If-Match is enforced. The full emulator tests live in session tests.
 */
import {
  createHttpHeaders,
  type HttpClient,
  type PipelineRequest,
} from '@azure/core-rest-pipeline';
import { ArtifactsClient } from '@azure/synapse-artifacts';
import { beforeEach, describe, expect, it } from 'vitest';

import { isDoctorError } from '../../source/engine/errors.js';
import { redact } from '../../source/engine/redact.js';
import type { StepIO } from '../../source/engine/step.js';
import type { FixContext } from '../../source/remediation/context.js';
import { backupStep, rewireStep, secretEnvName } from '../../source/remediation/rewire.js';
import { createMemoryJournal, type MemoryJournal } from '../helpers/journal.js';

const DEV = 'https://127.0.0.1:1/dev/ws';
const SECRET = ['pk', 'test', 'secret', '42'].join('-');
const API_KEY = 'RestService:/typeProperties/authHeaders/x-api-key';

interface Stored { properties: Record<string, unknown>; etag: string }

function mask(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mask);
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (record.type === 'SecureString') return { ...record, value: '**********' };
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, mask(v)]));
}

/** An in-memory dev endpoint for linked services and pipelines. */
function fakeDevEndpoint() {
  const store = new Map<string, Stored>();
  let version = 0;
  let failOperations = false;
  const puts: string[] = [];
  const respond = (request: PipelineRequest, status: number, body?: unknown,
    headers: Record<string, string> = {}) => ({
    request, status,
    headers: createHttpHeaders({ 'content-type': 'application/json', ...headers }),
    bodyAsText: body === undefined ? '' : JSON.stringify(body),
  });
  const view = (key: string, item: Stored) => ({
    id: key, name: key.split('/').pop(), etag: item.etag, properties: mask(item.properties),
  });
  const client: HttpClient = {
    async sendRequest(request) {
      const url = new URL(request.url);
      const key = url.pathname.replace('/dev/ws/', '').toLowerCase();
      if (key.startsWith('operationresults/')) {
        if (failOperations) {
          return respond(request, 200, { status: 'Failed',
            error: { code: 'InvalidPayload', message: 'the service refused the definition' } });
        }
        const target = decodeURIComponent(key.slice('operationresults/'.length));
        return respond(request, 200, view(target, store.get(target)!));
      }
      const item = store.get(key);
      if (request.method === 'GET') {
        return item ? respond(request, 200, view(key, item), { etag: item.etag })
          : respond(request, 404, { error: { code: 'NotFound', message: 'not found' } });
      }
      if (request.method === 'PUT') {
        const ifMatch = request.headers.get('if-match');
        if (ifMatch && item && ifMatch !== item.etag) {
          return respond(request, 412, { error: { code: 'PreconditionFailed', message: 'etag' } });
        }
        puts.push(String(request.body));
        const body = JSON.parse(String(request.body)) as { properties: Record<string, unknown> };
        version += 1;
        store.set(key, { properties: body.properties, etag: `"v${version}"` });
        return respond(request, 202, undefined, {
          location: `${DEV}/operationResults/${encodeURIComponent(key)}?api-version=2020-12-01`,
          'retry-after': '0',
        });
      }
      return respond(request, 405);
    },
  };
  const put = (key: string, properties: Record<string, unknown>) => {
    version += 1;
    store.set(key.toLowerCase(), { properties, etag: `"v${version}"` });
  };
  const failNextOperations = () => { failOperations = true; };
  return { client, store, put, puts, failNextOperations };
}

const restService = () => ({
  type: 'RestService',
  description: 'Partner API',
  annotations: ['partner', { team: 'etl' }],
  parameters: { region: { type: 'String', defaultValue: 'eu' } },
  connectVia: { referenceName: 'AutoResolveIntegrationRuntime',
    type: 'IntegrationRuntimeReference' },
  typeProperties: {
    url: 'https://api.partner.example/v1',
    futureField: { kept: true },
    authHeaders: { 'x-api-key': { type: 'SecureString', value: SECRET } },
  },
});

const pipeline = () => ({
  activities: [{
    name: 'CallApi', type: 'WebActivity', dependsOn: [], userProperties: [],
    policy: { timeout: '0.00:05:00', retry: 0 },
    typeProperties: { url: 'https://api.partner.example/v1/health', method: 'GET',
      httpRequestTimeout: '00:02:00' },
  }],
  parameters: { day: { type: 'String' } },
  annotations: ['nightly'],
});

function makeContext(dev: ReturnType<typeof fakeDevEndpoint>, secrets: Record<string, string>) {
  const credential = {
    getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3.6e6 }),
  };
  const artifacts = new ArtifactsClient(credential, DEV, { httpClient: dev.client,
    retryOptions: { maxRetries: 0 } });
  return {
    target: { subscriptionId: 's', resourceGroup: 'rg', workspaceName: 'ws' },
    clients: { artifacts: () => artifacts } as unknown as FixContext['clients'],
    ui: {} as FixContext['ui'],
    secrets: { resolve: async (key: string) => secrets[key] },
    inventory: {
      workspace: { name: 'ws', id: '/ws', location: 'x', isDepLocked: true, devEndpoint: DEV,
        allowedAadTenantIdsForLinking: [] },
      runtimes: [], linkedServices: [], pipelines: [], vms: [],
    },
    decisions: { runtimeName: 'shir-doctor-ir', isRuntimeNew: true,
      host: { mode: 'create', vmName: 'vm' }, nodeName: 'vm', staleNodes: [],
      linkedServicesToRewire: ['RestService'], pipelinesToRewire: ['CallPartnerApi'] },
    produced: {},
  } satisfies FixContext;
}

function io(journal: MemoryJournal): StepIO {
  return { progress: () => undefined, signal: new AbortController().signal, journal };
}

describe('backup and rewire', () => {
  let dev: ReturnType<typeof fakeDevEndpoint>;
  let journal: MemoryJournal;

  beforeEach(() => {
    dev = fakeDevEndpoint();
    dev.put('linkedservices/restservice', restService());
    dev.put('pipelines/callpartnerapi', pipeline());
    journal = createMemoryJournal('s1');
  });

  it('changes only connectVia and keeps the stored secret (F16, F02)', async () => {
    const context = makeContext(dev, { [API_KEY]: SECRET });
    await backupStep().run(context, io(journal));

    const outcome = await rewireStep().run(context, io(journal));

    expect(outcome.status).toBe('succeeded');
    const stored = dev.store.get('linkedservices/restservice')!.properties;
    const expected = { ...restService(), connectVia: { referenceName: 'shir-doctor-ir',
      type: 'IntegrationRuntimeReference' } };
    expect(JSON.stringify(stored)).toBe(JSON.stringify(expected));
    const storedPipeline = dev.store.get('pipelines/callpartnerapi')!.properties as
      ReturnType<typeof pipeline>;
    expect(storedPipeline.activities[0].typeProperties).toEqual({
      ...pipeline().activities[0].typeProperties,
      connectVia: { referenceName: 'shir-doctor-ir', type: 'IntegrationRuntimeReference' },
    });
    expect(redact(`x ${SECRET} x`)).not.toContain(SECRET);
    const backups = journal.entries.filter((entry) => entry.type === 'backup');
    expect(backups.map((entry) => entry.type === 'backup' && entry.name))
      .toEqual(['RestService', 'CallPartnerApi']);
    expect(JSON.stringify(journal.entries)).not.toContain(SECRET);
  });

  it('never writes the mask back when the secret is not supplied', async () => {
    const context = makeContext(dev, {});
    await backupStep().run(context, io(journal));

    const failure = await rewireStep().run(context, io(journal)).catch((error) => error);

    expect(isDoctorError(failure)).toBe(true);
    expect(failure.info.code).toBe('secret-unavailable');
    expect(failure.info.fix).toContain('--secrets-file');
    expect(failure.info.fix).toContain('SHIR_DOCTOR_SECRET_RESTSERVICE_X_API_KEY');
    expect(dev.puts.some((body) => body.includes('**********'))).toBe(false);
    expect(dev.store.get('linkedservices/restservice')!.properties).toEqual(restService());
  });

  it('stops with a conflict when the definition changed after the backup', async () => {
    const context = makeContext(dev, { [API_KEY]: SECRET });
    context.decisions.pipelinesToRewire = [];
    await backupStep().run(context, io(journal));
    const edited = { ...restService(), description: 'edited by a colleague' };
    dev.put('linkedservices/restservice', edited);

    const failure = await rewireStep().run(context, io(journal)).catch((error) => error);

    expect(failure.info.code).toBe('etag-conflict');
    expect(failure.info.what).toContain('nothing was overwritten');
    expect(dev.store.get('linkedservices/restservice')!.properties).toEqual(edited);
  });

  it('finds its own earlier write on a rerun and changes nothing more', async () => {
    const context = makeContext(dev, { [API_KEY]: SECRET });
    await backupStep().run(context, io(journal));
    await rewireStep().run(context, io(journal));
    const writes = dev.puts.length;

    await backupStep().run(context, io(journal));
    const outcome = await rewireStep().run(context, io(journal));

    expect(dev.puts.length).toBe(writes);
    expect(outcome.status === 'succeeded' && outcome.summary).toContain('already rewired');
  });

  it('rewires again when someone put back exactly the original, overwriting nothing of theirs',
    async () => {
      const context = makeContext(dev, { [API_KEY]: SECRET });
      context.decisions.pipelinesToRewire = [];
      await backupStep().run(context, io(journal));
      await rewireStep().run(context, io(journal));
      dev.put('linkedservices/restservice', restService());

      const outcome = await rewireStep().run(context, io(journal));

      expect(outcome.status === 'succeeded' && outcome.summary).toContain('RestService (rewired)');
      const stored = dev.store.get('linkedservices/restservice')!.properties as any;
      expect(stored.connectVia.referenceName).toBe('shir-doctor-ir');
    });

  it('fails the item and journals the failure when the write operation fails', async () => {
    const context = makeContext(dev, { [API_KEY]: SECRET });
    context.decisions.pipelinesToRewire = [];
    await backupStep().run(context, io(journal));
    dev.failNextOperations();

    const failure = await rewireStep().run(context, io(journal)).catch((error) => error);

    expect(isDoctorError(failure)).toBe(true);
    expect(failure.info.what).toContain('update Linked service RestService');
    const outcomes = journal.entries.filter((entry) => entry.type === 'outcome');
    expect(outcomes.at(-1)).toMatchObject({ result: { isOk: false } });
  });

  it('names the environment variable for a secret', () => {
    expect(secretEnvName('PartnerFiles:/typeProperties/password'))
      .toBe('SHIR_DOCTOR_SECRET_PARTNERFILES_PASSWORD');
  });
});
