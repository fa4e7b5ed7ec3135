import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientSecretCredential } from '@azure/identity';
import type { SandboxHandle } from '../../source/sandbox/index.js';
import { ARM_SCOPE, clients, ids, raw, start } from './helpers.js';

describe('Entra ID and bearer checks', () => {
  let sb: SandboxHandle;
  beforeAll(async () => { sb = await start(); });
  afterAll(async () => { await sb?.close(); });

  it('serves a discovery document MSAL accepts', async () => {
    const res = await raw(sb, 'GET', `/${sb.tenantId}/v2.0/.well-known/openid-configuration`,
      { token: null });
    expect(res.status).toBe(200);
    expect(res.body.issuer).toBe(`${sb.endpoint}/${sb.tenantId}/v2.0`);
    expect(res.body.token_endpoint).toBe(`${sb.endpoint}/${sb.tenantId}/oauth2/v2.0/token`);
    expect(res.body.jwks_uri).toBeTruthy();
    expect(res.body.authorization_endpoint).toBeTruthy();
  });

  it('issues tokens to the service principal through ClientSecretCredential', async () => {
    const token = await clients(sb).credential.getToken(ARM_SCOPE);
    expect(token?.token.split('.')).toHaveLength(3);
    expect(token?.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });

  it('refuses a wrong client secret', async () => {
    const bad = new ClientSecretCredential(sb.tenantId, sb.clientId, 'wrong-secret', {
      authorityHost: sb.authorityHost, disableInstanceDiscovery: true,
      tlsOptions: { ca: sb.caPem } });
    await expect(bad.getToken(ARM_SCOPE)).rejects.toThrow(/AADSTS7000215/);
  });

  it('answers 401 with WWW-Authenticate without a token', async () => {
    const res = await raw(sb, 'GET', `${ids(sb).ws}?api-version=2021-06-01`, { token: null });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer authorization_uri=/);
    expect(res.body.error.code).toBe('AuthenticationFailed');
  });

  it('refuses expired, forged and wrong-audience tokens', async () => {
    const path = `${ids(sb).ws}?api-version=2021-06-01`;
    const expired = await raw(sb, 'GET', path, { token: sb.issueToken(ARM_SCOPE, -60) });
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('ExpiredAuthenticationToken');

    const good = sb.issueToken(ARM_SCOPE);
    const forged = `${good.slice(0, -4)}AAAA`;
    expect((await raw(sb, 'GET', path, { token: forged })).body.error.code)
      .toBe('InvalidAuthenticationToken');

    const devToken = sb.issueToken('https://dev.azuresynapse.net/.default');
    const wrong = await raw(sb, 'GET', path, { token: devToken });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('InvalidAuthenticationTokenAudience');
    const dev = await raw(sb, 'GET', `${ids(sb).dev}/linkedservices?api-version=2020-12-01`,
      { token: good });
    expect(dev.status).toBe(401);
  });

  it('accepts a valid token', async () => {
    const res = await raw(sb, 'GET', `${ids(sb).ws}?api-version=2021-06-01`);
    expect(res.status).toBe(200);
  });
});
