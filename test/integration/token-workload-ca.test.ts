import { describe, expect, it } from 'vitest';
import { call, form, newTokenTenant, type TokenTenant } from './token-helpers.js';

const OUTSIDE = '198.51.100.7';
const OFFICE = '203.0.113.9';

async function graphPost(t: TokenTenant, path: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await call('POST', `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': t.tenantId } });
  expect(r.status).toBe(201);
  return (await r.json()) as Record<string, unknown>;
}

/** A workload-identity policy: block the admin app's service principal outside the office range. */
async function blockOutsideOffice(t: TokenTenant, state: string): Promise<void> {
  const sps = await call('GET', `/v1.0/servicePrincipals?$filter=appId eq '${t.adminClientId}'`, { headers: { 'x-tessera-tenant': t.tenantId } });
  const spId = ((await sps.json()) as { value: Array<{ id: string }> }).value[0]!.id;
  const office = await graphPost(t, '/identity/conditionalAccess/namedLocations', {
    '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: 'Office', isTrusted: true,
    ipRanges: [{ '@odata.type': '#microsoft.graph.iPv4CidrRange', cidrAddress: '203.0.113.0/24' }],
  });
  await graphPost(t, '/identity/conditionalAccess/policies', {
    displayName: 'Workloads only from the office', state,
    conditions: {
      users: { includeUsers: ['None'] }, applications: { includeApplications: ['All'] },
      clientApplications: { includeServicePrincipals: [spId] },
      locations: { includeLocations: ['All'], excludeLocations: [office.id] },
    },
    grantControls: { operator: 'OR', builtInControls: ['block'] },
  });
}

const token = (t: TokenTenant, ip: string) => form(`/${t.tenantId}/oauth2/v2.0/token`, {
  grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: t.adminClientSecret, scope: 'https://graph.microsoft.com/.default',
}, { 'cf-connecting-ip': ip });

describe('conditional access for workload identities (client_credentials)', () => {
  it('blocks the targeted service principal outside the named location, also when its request is cached at the edge', async () => {
    const t = await newTokenTenant();
    await blockOutsideOffice(t, 'enabled');
    const blocked = await token(t, OUTSIDE);
    expect(blocked.status).toBe(400);
    const body = (await blocked.json()) as { error: string; error_codes: number[] };
    expect(body.error).toBe('access_denied');
    expect(body.error_codes).toEqual([53003]);
    expect((await token(t, OFFICE)).status).toBe(200);
    const again = await token(t, OFFICE);
    expect(again.headers.get('tessera-served-by')).toBe('edge');
    // The same request bytes from outside: the edge replays the flow, which evaluates the policy again.
    expect((await token(t, OUTSIDE)).status).toBe(400);
  });

  it('a policy written through Graph applies at once in the isolate that wrote it, despite the edge cache', async () => {
    const t = await newTokenTenant();
    expect((await token(t, OUTSIDE)).status).toBe(200);
    expect((await token(t, OUTSIDE)).headers.get('tessera-served-by')).toBe('edge');
    await blockOutsideOffice(t, 'enabled');
    expect((await token(t, OUTSIDE)).status).toBe(400);
  });

  it('report-only policies never block a workload', async () => {
    const t = await newTokenTenant();
    await blockOutsideOffice(t, 'enabledForReportingButNotEnforced');
    expect((await token(t, OUTSIDE)).status).toBe(200);
  });

  it('rejects a malformed clientApplications condition with a Graph 400', async () => {
    const t = await newTokenTenant();
    const r = await call('POST', '/v1.0/identity/conditionalAccess/policies', {
      headers: { 'x-tessera-tenant': t.tenantId },
      body: { displayName: 'typo', state: 'enabled', conditions: { users: { includeUsers: ['None'] }, applications: { includeApplications: ['All'] }, clientApplications: { includeServicePrinciples: ['x'] } }, grantControls: { operator: 'OR', builtInControls: ['block'] } },
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBeTruthy();
  });
});
