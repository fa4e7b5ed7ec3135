/**
 * A minimal Entra ID (v2.0) for one service principal: the OpenID discovery document MSAL
 * needs, the client-credentials token endpoint, and bearer-token checks for the ARM and dev
 * endpoint routes.
 *
 * Tokens are JWT-shaped and signed with an HMAC key kept in the persisted world, so a token stays
 * valid across a restart of the sandbox. MSAL accepts the discovery document only when it has
 * `authorization_endpoint`, `token_endpoint`, `issuer` and `jwks_uri`, and the issuer's origin
 * equals the authority's origin.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Ctx, type Handler, type Reply, guid, json, match } from './http.js';

/** The service principal the scenario grants access to. */
export interface Principal {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** Token audiences the emulator serves. */
export const AUDIENCE = {
  arm: ['https://management.azure.com', 'https://management.core.windows.net'],
  dev: ['https://dev.azuresynapse.net'],
} as const;

const TOKEN_LIFETIME_S = 3600;

/** Issues and checks tokens for one principal. */
export class Entra {
  constructor(
    private readonly principal: Principal,
    private readonly signingKey: string,
  ) {}

  /** Routes for discovery and token requests. */
  handler(): Handler {
    return (ctx) => this.route(ctx);
  }

  /** Mints a token for `scope` (tests use this to make expired or wrong-audience tokens). */
  issue(scope: string, lifetimeSeconds = TOKEN_LIFETIME_S): string {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      aud: audienceOf(scope),
      iss: `https://sts.windows.net/${this.principal.tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + lifetimeSeconds,
      appid: this.principal.clientId,
      tid: this.principal.tenantId,
      oid: this.principal.clientId,
      uti: guid(),
    };
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64url(JSON.stringify(claims));
    return `${head}.${body}.${this.sign(`${head}.${body}`)}`;
  }

  /**
   * Checks the Authorization header for one of `audiences`. Returns undefined when it is fine,
   * or the 401 reply to send.
   */
  check(ctx: Ctx, audiences: readonly string[]): Reply | undefined {
    const header = ctx.headers.authorization;
    if (!header || !/^Bearer /i.test(header)) {
      return this.reject(ctx, 'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.");
    }

    const claims = this.verify(header.slice(7).trim());
    if (!claims) {
      return this.reject(ctx, 'InvalidAuthenticationToken', 'The access token is invalid.');
    }
    if (claims.exp * 1000 <= Date.now()) {
      return this.reject(ctx, 'ExpiredAuthenticationToken',
        'The access token expiry UTC time is earlier than current UTC time.');
    }
    if (!audiences.includes(claims.aud.replace(/\/+$/, ''))) {
      return this.reject(ctx, 'InvalidAuthenticationTokenAudience',
        `The access token has been obtained for wrong audience '${claims.aud}'.`);
    }
    return undefined;
  }

  private route(ctx: Ctx): Reply | undefined {
    const disco = match('/:tenant/v2.0/.well-known/openid-configuration', ctx.path);
    if (disco && ctx.method === 'GET') return this.discovery(ctx, disco.tenant);

    const token = match('/:tenant/oauth2/v2.0/token', ctx.path);
    if (token && ctx.method === 'POST') return this.token(ctx, token.tenant);
    return undefined;
  }

  private discovery(ctx: Ctx, tenant: string): Reply {
    if (!this.isOurTenant(tenant)) {
      return json({ error: 'invalid_tenant', error_description:
        `AADSTS90002: Tenant '${tenant}' not found.` }, 400);
    }
    const root = `${ctx.base}/${tenant}`;
    return json({
      issuer: `${root}/v2.0`,
      authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
      token_endpoint: `${root}/oauth2/v2.0/token`,
      device_authorization_endpoint: `${root}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${root}/oauth2/v2.0/logout`,
      jwks_uri: `${root}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      tenant_region_scope: 'EU',
    });
  }

  private token(ctx: Ctx, tenant: string): Reply {
    const form = new URLSearchParams(ctx.rawBody);
    if (!this.isOurTenant(tenant)) {
      return oauthError(400, 'invalid_request', `AADSTS90002: Tenant '${tenant}' not found.`);
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type',
        'AADSTS70003: The app requested an unsupported grant type.');
    }
    if (form.get('client_id') !== this.principal.clientId) {
      return oauthError(400, 'unauthorized_client',
        `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found.`);
    }
    if (!sameSecret(form.get('client_secret') ?? '', this.principal.clientSecret)) {
      return oauthError(401, 'invalid_client',
        'AADSTS7000215: Invalid client secret provided.');
    }

    const scope = (form.get('scope') ?? '').split(' ').find((s) => s.endsWith('/.default'));
    if (!scope) {
      return oauthError(400, 'invalid_scope', 'AADSTS1002012: The provided scope is invalid.');
    }
    return json({
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_S,
      ext_expires_in: TOKEN_LIFETIME_S,
      access_token: this.issue(scope),
    });
  }

  private isOurTenant(tenant: string): boolean {
    return tenant.toLowerCase() === this.principal.tenantId.toLowerCase();
  }

  private reject(ctx: Ctx, code: string, message: string): Reply {
    const authority = `${ctx.base}/${this.principal.tenantId}`;
    return {
      status: 401,
      headers: {
        'www-authenticate':
          `Bearer authorization_uri="${authority}", error="invalid_token", ` +
          `error_description="${message.replace(/"/g, "'")}"`,
      },
      body: { error: { code, message } },
    };
  }

  private sign(data: string): string {
    return createHmac('sha256', this.signingKey).update(data).digest('base64url');
  }

  private verify(token: string): { aud: string; exp: number } | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const expected = Buffer.from(this.sign(`${parts[0]}.${parts[1]}`));
    const got = Buffer.from(parts[2]);
    if (expected.length !== got.length || !timingSafeEqual(expected, got)) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
      return typeof claims.aud === 'string' && typeof claims.exp === 'number' ? claims : undefined;
    } catch {
      return undefined;
    }
  }
}

function audienceOf(scope: string): string {
  return scope.replace(/\/?\.default$/, '');
}

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function oauthError(status: number, error: string, description: string): Reply {
  return json({
    error,
    error_description: `${description}\r\nTrace ID: ${guid()}\r\nTimestamp: ` +
      new Date().toISOString(),
    error_codes: [Number(description.match(/AADSTS(\d+)/)?.[1] ?? 0)],
    timestamp: new Date().toISOString(),
  }, status);
}
