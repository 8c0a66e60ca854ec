import { ManagedIdentityCredential } from '@azure/identity';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { clearAzureEnv, createWorkload, GRAPH_SCOPE, waitUntilServed } from './mi-fixtures.js';
import { baseUrl, createTenant } from './service.js';

describe('@azure/identity ManagedIdentityCredential over the App Service protocol', () => {
  it('gets a system-assigned token with IDENTITY_ENDPOINT + IDENTITY_HEADER that verifies against the tenant JWKS', async () => {
    const tenant = await createTenant('weur');
    const w = await createWorkload(tenant, { name: 'orders-web', region: 'eeur', systemAssigned: true });
    await waitUntilServed(w);
    clearAzureEnv();
    // @azure/identity reads the environment when the credential is constructed.
    process.env.IDENTITY_ENDPOINT = w.IDENTITY_ENDPOINT;
    process.env.IDENTITY_HEADER = w.IDENTITY_HEADER;
    const credential = new ManagedIdentityCredential();
    const token = await credential.getToken(GRAPH_SCOPE);
    expect(token.token.split('.')).toHaveLength(3);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 30 * 60_000);

    // Graph access tokens are v1, as in Entra (issuer without /v2.0, `appid`).
    const issuer = `${baseUrl()}/${tenant.tenantId}/`;
    const jwks = createRemoteJWKSet(new URL(`${baseUrl()}/${tenant.tenantId}/discovery/v2.0/keys`));
    const { payload } = await jwtVerify(token.token, jwks, { issuer, audience: 'https://graph.microsoft.com' });
    expect(payload).toMatchObject({ tid: tenant.tenantId, oid: w.systemAssignedIdentity!.principalId, appid: w.systemAssignedIdentity!.clientId, ver: '1.0', xms_region: 'eeur' });
  });
});
