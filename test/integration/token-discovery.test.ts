import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../workers/edge.js';
import { BASE, decodeJwt, form, basic, newTokenTenant, raw } from './token-helpers.js';

describe('discovery and JWKS', () => {
  it('publishes Entra-shaped metadata and the tenant key (RS256 default, ES256 on request)', async () => {
    const t = await newTokenTenant();
    const r = await raw('GET', `/${t.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(r.status).toBe(200);
    const meta = (await r.json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(`${BASE}/${t.tenantId}/v2.0`);
    expect(meta.token_endpoint).toBe(`${BASE}/${t.tenantId}/oauth2/v2.0/token`);
    expect(meta.jwks_uri).toBe(`${BASE}/${t.tenantId}/discovery/v2.0/keys`);
    const jwks = (await (await raw('GET', `/${t.tenantId}/discovery/v2.0/keys`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');

    const ec = await newTokenTenant({ signingAlg: 'ES256' });
    const ecKeys = (await (await raw('GET', `/${ec.tenantId}/discovery/v2.0/keys`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(ecKeys.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
  });

  it('publishes v1 metadata at /{tenant}/.well-known/openid-configuration: the v1 issuer and the same keys', async () => {
    const t = await newTokenTenant();
    const r = await raw('GET', `/${t.tenantId}/.well-known/openid-configuration`);
    expect(r.status).toBe(200);
    const meta = (await r.json()) as { issuer: string; jwks_uri: string; token_endpoint: string };
    expect(meta.issuer).toBe(`${BASE}/${t.tenantId}/`);
    expect(meta.token_endpoint).toBe(`${BASE}/${t.tenantId}/oauth2/v2.0/token`);
    const v1Keys = (await (await raw('GET', new URL(meta.jwks_uri).pathname)).json()) as { keys: Array<{ kid: string }> };
    const v2Keys = (await (await raw('GET', `/${t.tenantId}/discovery/v2.0/keys`)).json()) as { keys: Array<{ kid: string }> };
    expect(v1Keys.keys.map((k) => k.kid)).toEqual(v2Keys.keys.map((k) => k.kid));
  });

  it('accepts a verified domain in place of the tenant id', async () => {
    const t = await newTokenTenant({ domain: `d${crypto.randomUUID().slice(0, 8)}.example.com` });
    const domain = ((await (await raw('GET', `/${t.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as { issuer: string }).issuer;
    expect(domain).toContain(t.tenantId);
  });

  it('answers an unknown tenant with 400 invalid_request AADSTS90002', async () => {
    const r = await raw('GET', `/00000000-0000-0000-0000-000000000001/v2.0/.well-known/openid-configuration`);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: string; error_codes: number[] };
    expect(body.error).toBe('invalid_request');
    expect(body.error_codes).toEqual([90002]);
  });
});

describe('client_credentials', () => {
  it('issues an app-only Graph token with client_secret_basic and client_secret_post', async () => {
    const t = await newTokenTenant();
    const scope = 'https://graph.microsoft.com/.default';
    const viaBasic = await form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope, claims: JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } }) }, { authorization: basic(t.adminClientId, t.adminClientSecret) });
    expect(viaBasic.status).toBe(200);
    const b = (await viaBasic.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(b.token_type).toBe('Bearer');
    const { header, payload } = decodeJwt(b.access_token);
    expect(header.alg).toBe('RS256');
    // Graph access tokens are v1, as in Entra: v1 issuer, `appid`, ver 1.0.
    expect(payload).toMatchObject({ iss: `${BASE}/${t.tenantId}/`, aud: 'https://graph.microsoft.com', tid: t.tenantId, appid: t.adminClientId, ver: '1.0', idtyp: 'app', roles: ['Directory.ReadWrite.All', 'RoleManagement.ReadWrite.Directory', 'EntraBackup.Read.All', 'EntraBackup.ReadWrite.Preview', 'EntraBackup.ReadWrite.Recovery', 'SSF.Streams.ReadWrite'], xms_cc: ['cp1'] });
    expect(payload.azp).toBeUndefined();
    expect(typeof payload.jti).toBe('string');

    const viaPost = await form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope, client_id: t.adminClientId, client_secret: t.adminClientSecret });
    expect(viaPost.status).toBe(200);

    const wrong = await form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope }, { authorization: basic(t.adminClientId, 'nope') });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('names the configured public origin (ISSUER_ORIGIN), not the scheme a proxy handed the Worker', async () => {
    const t = await newTokenTenant();
    const ctx = createExecutionContext();
    // The request arrives as http:// (a TLS-terminating proxy); clients discovered https://.
    const r = await worker.fetch(new Request(`http://127.0.0.1:8787/${t.tenantId}/v2.0/.well-known/openid-configuration`), { ...env, ISSUER_ORIGIN: 'https://login.example.com' }, ctx);
    await waitOnExecutionContext(ctx);
    const meta = (await r.json()) as { issuer: string; token_endpoint: string; jwks_uri: string };
    expect(meta.issuer).toBe(`https://login.example.com/${t.tenantId}/v2.0`);
    expect(meta.token_endpoint).toBe(`https://login.example.com/${t.tenantId}/oauth2/v2.0/token`);
    expect(meta.jwks_uri).toBe(`https://login.example.com/${t.tenantId}/discovery/v2.0/keys`);
    const ctx2 = createExecutionContext();
    const plain = await worker.fetch(new Request(`http://127.0.0.1:8787/${t.tenantId}/v2.0/.well-known/openid-configuration`), env, ctx2);
    await waitOnExecutionContext(ctx2);
    expect(((await plain.json()) as { issuer: string }).issuer).toBe(`http://127.0.0.1:8787/${t.tenantId}/v2.0`);
  });
});
