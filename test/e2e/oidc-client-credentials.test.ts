import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { baseUrl, createTenant, operatorKey } from './service.js';

describe('openid-client + jose: client credentials', () => {
  it('discovers the tenant, gets an app token, verifies it against JWKS, and calls Graph with it', async () => {
    const tenant = await createTenant('weur');
    const issuer = new URL(`${baseUrl()}/${tenant.tenantId}/v2.0`);
    const config = await client.discovery(issuer, tenant.adminClientId, tenant.adminClientSecret);
    expect(config.serverMetadata().issuer).toBe(issuer.toString());
    const tokens = await client.clientCredentialsGrant(config, { scope: 'https://graph.microsoft.com/.default' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');

    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    // Graph access tokens are v1, as in Entra: the v1 issuer, `appid`, ver 1.0.
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: `${baseUrl()}/${tenant.tenantId}/`, audience: 'https://graph.microsoft.com' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ tid: tenant.tenantId, appid: tenant.adminClientId, roles: ['Directory.ReadWrite.All', 'RoleManagement.ReadWrite.Directory', 'EntraBackup.Read.All', 'EntraBackup.ReadWrite.Preview', 'EntraBackup.ReadWrite.Recovery', 'SSF.Streams.ReadWrite'], ver: '1.0' });

    const users = await fetch(`${baseUrl()}/v1.0/users`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(users.status).toBe(200);
    // The operator credential keeps working next to tokens.
    const asOperator = await fetch(`${baseUrl()}/v1.0/users`, { headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': tenant.tenantId } });
    expect(asOperator.status).toBe(200);
  });
});
