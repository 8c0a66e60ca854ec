import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { baseUrl, createTenant, operatorKey, type Tenant } from './service.js';

const OFFICE = '203.0.113.9';
const OUTSIDE = '198.51.100.7';
const CP1 = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });

const operator = (t: Tenant, method: string, path: string, body?: unknown) =>
  fetch(`${baseUrl()}/v1.0${path}`, {
    method, headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': t.tenantId, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
/** Outside production the client's address is set with X-Tessera-Client-IP (workers/platform/client-region.ts). */
const from = (ip: string, token: string) => fetch(`${baseUrl()}/v1.0/users`, { headers: { authorization: `Bearer ${token}`, 'x-tessera-client-ip': ip } });

describe('strict location enforcement for CAE tokens against wrangler dev', () => {
  it('a CAE-capable app token records ipaddr and is challenged when used outside the named location a workload policy allows', async () => {
    const t = await createTenant('weur');
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: t.adminClientSecret, scope: 'https://graph.microsoft.com/.default', claims: CP1 });
    const issued = await fetch(`${baseUrl()}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form, headers: { 'x-tessera-client-ip': OFFICE } });
    expect(issued.status).toBe(200);
    const token = ((await issued.json()) as { access_token: string }).access_token;
    expect(decodeJwt(token)).toMatchObject({ ipaddr: OFFICE, xms_cc: ['cp1'] });
    const sp = ((await (await operator(t, 'GET', `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${t.adminClientId}'`)}`)).json()) as { value: Array<{ id: string }> }).value[0]!.id;
    const loc = (await (await operator(t, 'POST', '/identity/conditionalAccess/namedLocations', {
      '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: 'Office', ipRanges: [{ '@odata.type': '#microsoft.graph.iPv4CidrRange', cidrAddress: '203.0.113.0/24' }],
    })).json()) as { id: string };
    expect((await operator(t, 'POST', '/identity/conditionalAccess/policies', {
      displayName: 'Workloads from the office only', state: 'enabled',
      conditions: { users: { includeUsers: ['None'] }, applications: { includeApplications: ['All'] }, clientApplications: { includeServicePrincipals: [sp] }, locations: { includeLocations: ['All'], excludeLocations: [loc.id] } },
      grantControls: { operator: 'OR', builtInControls: ['block'] },
    })).status).toBe(201);
    const out = await from(OUTSIDE, token);
    expect(out.status).toBe(401);
    expect(out.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer authorization_uri="${baseUrl()}/${t.tenantId}/oauth2/v2\\.0/authorize", error="insufficient_claims", claims="[A-Za-z0-9+/=]+"$`));
    expect((await from(OFFICE, token)).status).toBe(200);
  });
});
