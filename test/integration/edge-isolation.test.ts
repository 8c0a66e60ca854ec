import { afterEach, describe, expect, it } from 'vitest';
import { clearFaults, graph, newTenant, setFaults, type Any } from './helpers.js';
import { basic, codeFor, form, raw, redeem, sample } from './token-helpers.js';

/**
 * An edge runs in its client's region (`X-Tessera-Region` here): `isolatedRegions: ['apac']`
 * cuts apac's edges off from every other region and from the control plane. The test pool's
 * cells are weur (home), eeur and enam voting, apac a learner.
 */
afterEach(clearFaults);

const APAC = { 'x-tessera-region': 'apac' };
const SCOPE = 'openid offline_access User.Read';

/**
 * A client in apac used the tenant before the cut, so this edge holds its placement (locally
 * one isolate serves every region's edges). Without one it answers 503: see the unknown-tenant test.
 */
async function seenFromApac(tenantId: string): Promise<void> {
  expect((await raw('GET', `/${tenantId}/v2.0/.well-known/openid-configuration`, { headers: APAC })).status).toBe(200);
}

async function cutApac(): Promise<number> {
  await setFaults({ isolatedRegions: ['apac'] });
  return Date.now();
}

/** A 503 refusal with a Retry-After (that no primary was tried shows in `tessera-served-by`; no timed assertion). */
async function refused(send: () => Promise<Response>): Promise<Response> {
  const r = await send();
  expect(r.status).toBe(503);
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  return r;
}

describe('Graph from an isolated region', () => {
  it('reads are answered by the region\'s own replica with a staleness bound that covers the time since the cut', async () => {
    const t = await newTenant('weur');
    const created = await graph(t, 'POST', '/users', { body: { displayName: 'Before', userPrincipalName: `before-${crypto.randomUUID().slice(0, 8)}@contoso.com`, accountEnabled: true, mailNickname: 'before', passwordProfile: { password: 'Correct-Horse-9' } } });
    expect(created.status).toBe(201);
    const user = (await created.json()) as Any;
    // apac has the user (pushed asynchronously) before the cut.
    const token = created.headers.get('tessera-replica-token')!;
    await expect.poll(async () => (await graph(t, 'GET', `/users/${user.id}`, { region: 'apac', headers: { 'tessera-replica-token': token } })).status, { timeout: 10_000 }).toBe(200);
    await seenFromApac(t.tenantId);
    const cutAt = await cutApac();
    await new Promise((r) => setTimeout(r, 50));

    const before = Date.now();
    const read = await graph(t, 'GET', `/users/${user.id}`, { region: 'apac' });
    expect(read.status).toBe(200);
    expect(read.headers.get('tessera-served-by')).toBe('apac');
    expect(((await read.json()) as Any).displayName).toBe('Before');
    // apac has heard nothing since the cut: its bound is at least the time since then.
    const staleness = Number(read.headers.get('tessera-staleness-ms'));
    expect(Number.isInteger(staleness)).toBe(true);
    expect(staleness).toBeGreaterThanOrEqual(Math.max(50, before - cutAt));

    const list = await graph(t, 'GET', '/users?$top=5', { region: 'apac' });
    expect(list.status).toBe(200);
    expect(list.headers.get('tessera-staleness-ms')).toMatch(/^\d+$/);
  });

  it('a read presenting a replica token newer than the region\'s position gets 503 + Retry-After (another region serves it)', async () => {
    const t = await newTenant('weur');
    await seenFromApac(t.tenantId);
    await cutApac();
    const written = await graph(t, 'POST', '/groups', { body: { displayName: 'After the cut', mailEnabled: false, mailNickname: 'after', securityEnabled: true } });
    expect(written.status).toBe(201);
    const group = (await written.json()) as Any;
    const token = written.headers.get('tessera-replica-token')!;

    const r = await refused(() => graph(t, 'GET', `/groups/${group.id}`, { region: 'apac', headers: { 'tessera-replica-token': token } }));
    expect(((await r.json()) as Any).error.code).toBe('serviceNotAvailable');
    // Outside the cut the same token is honoured.
    expect((await graph(t, 'GET', `/groups/${group.id}`, { region: 'eeur', headers: { 'tessera-replica-token': token } })).status).toBe(200);
  });

  it('writes answer 503 + Retry-After at once, and nothing is written (a retry after healing creates it once)', async () => {
    const t = await newTenant('weur');
    await seenFromApac(t.tenantId);
    await cutApac();
    const body = { displayName: 'Cut off', mailEnabled: false, mailNickname: 'cutoff', securityEnabled: true };
    const headers = { 'client-request-id': crypto.randomUUID() };
    const r = await refused(() => graph(t, 'POST', '/groups', { region: 'apac', body, headers }));
    // Answered by the edge in apac: no primary was tried.
    expect(r.headers.get('tessera-served-by')).toBe('apac');
    expect(((await r.json()) as Any).error).toMatchObject({ code: 'serviceNotAvailable', innerError: { 'request-id': expect.any(String) } });

    await clearFaults();
    expect((await graph(t, 'POST', '/groups', { region: 'apac', body, headers })).status).toBe(201);
    const named = (await (await graph(t, 'GET', `/groups?$filter=${encodeURIComponent("displayName eq 'Cut off'")}`, { region: t.homeRegion })).json()) as Any;
    expect(named.value).toHaveLength(1);
  });

  it('clients outside the isolated region keep writing', async () => {
    const t = await newTenant('weur');
    await seenFromApac(t.tenantId);
    await cutApac();
    expect((await graph(t, 'POST', '/groups', { region: 'eeur', body: { displayName: 'Elsewhere', mailEnabled: false, mailNickname: 'elsewhere', securityEnabled: true } })).status).toBe(201);
  });
});

describe('the token service from an isolated region', () => {
  it('discovery, JWKS and client_credentials are served from the region\'s replica', async () => {
    const t = await newTenant('weur');
    await seenFromApac(t.tenantId);
    await cutApac();
    const discovery = await raw('GET', `/${t.tenantId}/v2.0/.well-known/openid-configuration`, { headers: APAC });
    expect(discovery.status).toBe(200);
    expect(((await discovery.json()) as Any).issuer).toContain(t.tenantId);
    const jwks = await raw('GET', `/${t.tenantId}/discovery/v2.0/keys`, { headers: APAC });
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('tessera-served-by')).toBe('apac');
    expect(((await jwks.json()) as Any).keys.length).toBeGreaterThan(0);
    const token = await form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' }, { ...APAC, authorization: basic(t.adminClientId, t.adminClientSecret) });
    expect(token.status).toBe(200);
    expect(token.headers.get('tessera-served-by')).toBe('apac');
    expect(((await token.json()) as Any).access_token.split('.')).toHaveLength(3);
  });

  it('a tenant this edge does not know answers 503 + Retry-After there: the control plane is out of reach', async () => {
    await cutApac();
    const unknown = crypto.randomUUID();
    const r = await refused(() => raw('GET', `/${unknown}/v2.0/.well-known/openid-configuration`, { headers: APAC }));
    expect(((await r.json()) as Any).error).toBe('temporarily_unavailable');
    // Outside the cut the control plane answers: no such tenant.
    expect((await raw('GET', `/${unknown}/v2.0/.well-known/openid-configuration`, { headers: { 'x-tessera-region': 'eeur' } })).status).toBe(400);
  });

  it('grants that must commit a write (authorization code, refresh, device code) answer 503 + Retry-After at once; the code still works after healing', async () => {
    const s = await sample();
    const first = (await (await redeem(s, await codeFor(s, SCOPE))).json()) as Any;
    const code = await codeFor(s, SCOPE);
    await seenFromApac(s.t.tenantId);
    await cutApac();

    const redeemed = await refused(() => redeem(s, code, APAC));
    expect(((await redeemed.json()) as Any).error).toBe('temporarily_unavailable');
    const refreshed = await refused(() => form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: s.appId, refresh_token: first.refresh_token }, APAC));
    expect(((await refreshed.json()) as Any).error).toBe('temporarily_unavailable');
    await refused(() => form(`/${s.t.tenantId}/oauth2/v2.0/devicecode`, { client_id: s.appId, scope: SCOPE }, APAC));

    // Nothing was consumed: healed, the same code and refresh token work.
    await clearFaults();
    expect((await redeem(s, code, APAC)).status).toBe(200);
    expect((await form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: s.appId, refresh_token: first.refresh_token }, APAC)).status).toBe(200);
  });
});
