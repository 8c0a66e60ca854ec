import { ManagedIdentityCredential } from '@azure/identity';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { clearAzureEnv, createUserAssigned, createWorkload, GRAPH_SCOPE, waitUntilServed } from './mi-fixtures.js';
import { baseUrl, createTenant } from './service.js';

describe('@azure/identity ManagedIdentityCredential over IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST)', () => {
  it('gets a user-assigned token selected by clientId that verifies against the regional JWKS', async () => {
    const tenant = await createTenant('weur');
    const a = await createUserAssigned(tenant, 'reports');
    const b = await createUserAssigned(tenant, 'billing');
    const w = await createWorkload(tenant, { name: 'vm-1', region: 'weur', userAssigned: [a.id, b.id] });
    await waitUntilServed(w, `&client_id=${b.appId}`);
    clearAzureEnv();
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = w.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    const credential = new ManagedIdentityCredential({ clientId: b.appId });
    const token = await credential.getToken(GRAPH_SCOPE);
    const jwks = createRemoteJWKSet(new URL(`${baseUrl()}/mi/weur/${tenant.tenantId}/discovery/v2.0/keys`));
    const { payload } = await jwtVerify(token.token, jwks, { issuer: `${baseUrl()}/${tenant.tenantId}/`, audience: 'https://graph.microsoft.com' });
    expect(payload).toMatchObject({ oid: b.id, appid: b.appId });

    // Two user-assigned identities and none selected: Azure's "multiple user assigned identities" error, surfaced by the SDK.
    await expect(new ManagedIdentityCredential().getToken(GRAPH_SCOPE)).rejects.toThrow(/Multiple user assigned identities/);
  });
});
