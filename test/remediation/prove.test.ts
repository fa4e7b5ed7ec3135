import { describe, expect, it } from 'vitest';

import {
  API_TIMEOUT,
  endToEndError,
  isTimeout,
  statusCodeOf,
  testPipelineProperties,
} from '../../source/remediation/prove.js';
import type { EndToEndResult } from '../../source/remediation/context.js';

const unreachable = "Error calling the endpoint 'https://api.partner.example/v1'. Response " +
  "status code: 'NA - Unknown'. More details: Exception message: 'NA - Unknown " +
  "[ClientSideException] A connection attempt failed'. This could happen because of an " +
  'underlying issue such as network connectivity, a DNS failure or a timeout.';
const slow = "Error calling the endpoint 'https://api.partner.example/v1'. Response status " +
  "code: 'NA - Unknown'. More details: Exception message: 'The request timed out after " +
  "00:00:30 (httpRequestTimeout)'.";

function result(overrides: Partial<EndToEndResult>): EndToEndResult {
  return { isPassing: false, status: 'failed', runtimeName: 'shir-doctor-ir',
    apiUrl: 'https://api.partner.example/v1/health', detail: 'x', ...overrides };
}

describe('the end-to-end test pipeline', () => {
  it('runs one Web activity on the SHIR with a 30 s HTTP timeout (F18)', () => {
    const properties = testPipelineProperties('shir-doctor-ir', 'https://api.example/x') as any;

    const activity = properties.activities[0];
    expect(activity.type).toBe('WebActivity');
    expect(activity.typeProperties.connectVia).toEqual({ referenceName: 'shir-doctor-ir',
      type: 'IntegrationRuntimeReference' });
    expect(activity.typeProperties.httpRequestTimeout).toBe(API_TIMEOUT);
    expect(API_TIMEOUT).toBe('00:00:30');
    expect(activity.typeProperties.url).toBe('https://api.example/x');
  });
});

describe('reading the run', () => {
  it('tells a timeout from a connection failure', () => {
    expect(isTimeout(slow)).toBe(true);
    expect(isTimeout(unreachable)).toBe(false);
  });

  it('reads the API status code from the output or the error', () => {
    expect(statusCodeOf({ output: { statusCode: 201 } })).toBe(201);
    expect(statusCodeOf({ error: { message: "Response status code: '404'. More details" } }))
      .toBe(404);
    expect(statusCodeOf({ error: { message: unreachable } })).toBeUndefined();
  });

  it('blames the slow API, by name, not the runtime, for a timeout', () => {
    const error = endToEndError(result({ status: 'timeout', detail: slow }));

    expect(error.info.code).toBe('api-timeout');
    expect(error.info.what).toContain('api.partner.example');
    expect(error.info.what).toContain('did not answer within 30 s');
    expect(error.info.why).toContain('the route works');
    expect(error.info.fix).toContain('--api-url');
  });

  it('reports other failures with the activity error', () => {
    const error = endToEndError(result({ status: 'failed', detail: unreachable }));

    expect(error.info.code).toBe('e2e-failed');
    expect(error.info.why).toBe(unreachable);
  });
});
