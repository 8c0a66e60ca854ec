import { ManagedIdentityCredential } from '@azure/identity';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { clearAzureEnv, createUserAssigned, createWorkload, GRAPH_SCOPE, operator, waitUntilServed } from './mi-fixtures.js';
import { baseUrl, createTenant } from './service.js';

afterAll(async () => {
  await operator('DELETE', '/admin/faults');
});

describe('@azure/identity ManagedIdentityCredential with the global path cut off', () => {
  it('keeps getting valid tokens in an isolated region, and fails fast for an identity attached after the cut', async () => {
    const tenant = await createTenant('weur');
    const w = await createWorkload(tenant, { name: 'edge-fn', region: 'apac', systemAssigned: true });
    await waitUntilServed(w);
    const cut = await operator('PUT', '/admin/faults', { isolatedRegions: ['apac'] });
    expect(cut.status).toBe(200);

    clearAzureEnv();
    process.env.IDENTITY_ENDPOINT = w.IDENTITY_ENDPOINT;
    process.env.IDENTITY_HEADER = w.IDENTITY_HEADER;
    const token = await new ManagedIdentityCredential().getToken(GRAPH_SCOPE);
    const jwks = createRemoteJWKSet(new URL(`${baseUrl()}/mi/apac/${tenant.tenantId}/discovery/v2.0/keys`));
    const { payload } = await jwtVerify(token.token, jwks, { issuer: `${baseUrl()}/${tenant.tenantId}/`, audience: 'https://graph.microsoft.com' });
    expect(payload).toMatchObject({ oid: w.systemAssignedIdentity!.principalId, xms_region: 'apac' });

    // Attached after the cut: committed by the primary, unknown to apac → a clear error, quickly.
    const late = await createUserAssigned(tenant, 'late');
    expect((await operator('PUT', `/admin/tenants/${tenant.tenantId}/workloads/${w.id}/identities/${late.id}`)).status).toBe(200);
    const started = Date.now();
    await expect(new ManagedIdentityCredential({ clientId: late.appId }).getToken(GRAPH_SCOPE)).rejects.toThrow(/Identity not found/);
    expect(Date.now() - started).toBeLessThan(5_000);

    // Healed: apac catches up and the late identity works.
    await operator('DELETE', '/admin/faults');
    await waitUntilServed(w, `&client_id=${late.appId}`);
    const healed = await new ManagedIdentityCredential({ clientId: late.appId }).getToken(GRAPH_SCOPE);
    expect(healed.token.split('.')).toHaveLength(3);
  });
});
