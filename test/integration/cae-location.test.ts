import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { BASE } from './helpers.js';
import { answerConsent, authorizeUrl, call, decodeJwt, form, redeem, s256, sample, submitPassword, VERIFIER, type Sample } from './token-helpers.js';

const OUTSIDE = '198.51.100.7';
const OFFICE = '203.0.113.9';
const CP1 = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });
const SCOPE = 'openid profile offline_access User.Read';

const op = (s: Sample, method: string, path: string, body?: unknown) => call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': s.t.tenantId } });
const graphFrom = (token: string, path: string, ip: string) =>
  exports.default.fetch(new Request(`${BASE}/v1.0${path}`, { headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': ip } }));

async function userToken(s: Sample, claims?: string): Promise<string> {
  const r = await answerConsent(await submitPassword(s, authorizeUrl(s, SCOPE, await s256(VERIFIER), claims !== undefined ? { claims } : {}), s.password));
  const t = await redeem(s, new URL(r.headers.get('location')!).searchParams.get('code')!);
  expect(t.status).toBe(200);
  return ((await t.json()) as { access_token: string }).access_token;
}

/** A named location for the office range and a policy blocking everything else (`conditions` adds who it targets). */
async function officeOnly(s: Sample, conditions: Record<string, unknown>): Promise<void> {
  const loc = await op(s, 'POST', '/identity/conditionalAccess/namedLocations', {
    '@odata.type': '#microsoft.graph.ipNamedLocation', displayName: 'Office', isTrusted: true,
    ipRanges: [{ '@odata.type': '#microsoft.graph.iPv4CidrRange', cidrAddress: '203.0.113.0/24' }],
  });
  expect(loc.status).toBe(201);
  const office = ((await loc.json()) as { id: string }).id;
  const p = await op(s, 'POST', '/identity/conditionalAccess/policies', {
    displayName: 'Only from the office', state: 'enabled',
    conditions: { applications: { includeApplications: ['All'] }, locations: { includeLocations: ['All'], excludeLocations: [office] }, ...conditions },
    grantControls: { operator: 'OR', builtInControls: ['block'] },
  });
  expect(p.status).toBe(201);
}

const challengeOf = (r: Response) => {
  const h = r.headers.get('www-authenticate') ?? '';
  const m = /^Bearer authorization_uri="([^"]+)", error="insufficient_claims", claims="([^"]+)"$/.exec(h);
  return m === null ? null : { uri: m[1]!, claims: JSON.parse(atob(m[2]!)) as { access_token: { nbf: { essential: boolean; value: string } } } };
};

describe('strict location enforcement for CAE tokens (core/cae/location.ts, workers/platform/location-policy.ts)', () => {
  it('challenges a CAE-capable user token presented from outside the named locations; inside it works; a plain token is not location-checked', async () => {
    const s = await sample();
    const capable = await userToken(s, CP1);
    const plain = await userToken(s);
    await officeOnly(s, { users: { includeUsers: ['All'] } });
    const before = Math.floor(Date.now() / 1000);
    const r = await graphFrom(capable, '/me', OUTSIDE);
    expect(r.status).toBe(401);
    const c = challengeOf(r);
    expect(c?.uri).toBe(`${BASE}/${s.t.tenantId}/oauth2/v2.0/authorize`);
    expect(c?.claims.access_token.nbf.essential).toBe(true);
    expect(Number(c?.claims.access_token.nbf.value)).toBeGreaterThanOrEqual(before);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
    expect((await graphFrom(capable, '/me', OFFICE)).status).toBe(200);
    expect((await graphFrom(plain, '/me', OUTSIDE)).status).toBe(200);
  });

  it('a user the policy excludes is not challenged', async () => {
    const s = await sample();
    const capable = await userToken(s, CP1);
    await officeOnly(s, { users: { includeUsers: ['All'], excludeUsers: [s.userId] } });
    expect((await graphFrom(capable, '/me', OUTSIDE)).status).toBe(200);
  });

  it('records the client IP as ipaddr; an app-only CAE token is challenged outside the locations of a workload policy', async () => {
    const s = await sample();
    const t = s.t;
    const issue = () => form(`/${t.tenantId}/oauth2/v2.0/token`, {
      grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: t.adminClientSecret, scope: 'https://graph.microsoft.com/.default', claims: CP1,
    }, { 'cf-connecting-ip': OFFICE });
    const r = await issue();
    expect(r.status).toBe(200);
    const token = ((await r.json()) as { access_token: string }).access_token;
    expect(decodeJwt(token).payload['ipaddr']).toBe(OFFICE);
    expect((await graphFrom(token, '/users', OUTSIDE)).status).toBe(200);
    const sps = (await (await op(s, 'GET', `/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${t.adminClientId}'`)}`)).json()) as { value: Array<{ id: string }> };
    await officeOnly(s, { users: { includeUsers: ['None'] }, clientApplications: { includeServicePrincipals: [sps.value[0]!.id] } });
    const out = await graphFrom(token, '/users', OUTSIDE);
    expect(out.status).toBe(401);
    expect(challengeOf(out)).not.toBeNull();
    expect((await graphFrom(token, '/users', OFFICE)).status).toBe(200);
  });
});
