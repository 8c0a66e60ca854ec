import { afterEach, describe, expect, it } from 'vitest';
import { call, clearFaults, setFaults, type Any } from './helpers.js';
import { appToken, basic, form, newTokenTenant, type TokenTenant } from './token-helpers.js';

const REGIONS = ['weur', 'eeur', 'enam', 'apac'];

const report = (t: TokenTenant, path: string, version = 'beta') => call('GET', `/${version}${path}`, { headers: { 'x-tessera-tenant': t.tenantId } });
const sla = async (t: TokenTenant): Promise<Any> => (await report(t, '/reports/sla/azureADAuthentication')).json();
const thisMonth = () => new Date().toISOString().slice(0, 7);

/** Outcomes reach the stores within a flush interval (5 s): poll until `done` holds, at most ~20 s. */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 80 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 250));
    v = await read();
  }
  return v;
}

/** `variant` changes the body (an ignored extra parameter), so the edge's read-set cache cannot answer it. */
const token = (t: TokenTenant, secret = t.adminClientSecret, variant?: string) =>
  form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default', ...(variant !== undefined ? { variant } : {}) }, {
    authorization: basic(t.adminClientId, secret), 'x-tessera-region': 'weur',
  });

const metric = (t: TokenTenant, name: string) => {
  const start = new Date(Date.now() - 3_600_000).toISOString().slice(0, 16) + ':00Z';
  const end = new Date(Date.now() + 600_000).toISOString().slice(0, 16) + ':00Z';
  return report(t, `/reports/serviceActivity/${name}(inclusiveIntervalStartDateTime=${start},exclusiveIntervalEndDateTime=${end},aggregationIntervalInMinutes=30)`);
};
const total = async (r: Response): Promise<number> => ((await r.json()) as { value: { value: number }[] }).value.reduce((s, p) => s + p.value, 0);

describe('outcome recording → SLA attainment and service activity (issue 16)', () => {
  afterEach(clearFaults);

  it('scores 100 after successes, ignores wrong secrets, and drops after service failures', async () => {
    const t = await newTokenTenant();
    for (let i = 0; i < 3; i++) expect((await token(t)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await token(t, 'wrong-secret')).status).toBe(401);
    const first = await until(() => sla(t), (b) => b.attainments?.length === 1);
    expect(first.attainments).toEqual([{ startDate: `${thisMonth()}-01`, endDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), score: 100 }]);
    expect(await until(() => metric(t, 'getMetricsForTokenIssuanceFailure').then(total), (n) => n === 2)).toBe(2);

    await setFaults({ downRegions: REGIONS });
    for (let i = 0; i < 2; i++) expect((await token(t, t.adminClientSecret, `down-${i}`)).status).toBe(503);
    await clearFaults();
    // The failed flush is kept and re-sent with the next one.
    expect((await token(t)).status).toBe(200);
    const after = await until(() => sla(t), (b) => b.attainments?.[0]?.score !== 100);
    // 4 successes, 2 service failures, 2 caller errors: 4 / 6 truncated.
    expect(after.attainments[0].score).toBe(66.666);
    expect(await until(() => metric(t, 'getMetricsForTokenIssuanceSuccess').then(total), (n) => n === 4)).toBe(4);
  });

  it('has no entry for a tenant without authentications, and gives the operator a view across tenants', async () => {
    const quiet = await newTokenTenant();
    expect(await sla(quiet)).toMatchObject({ attainments: [] });
    const busy = await newTokenTenant();
    expect((await token(busy)).status).toBe(200);
    const view = await until(async () => (await call('GET', '/admin/sla')).json() as Promise<Any>, (b) => b.tenants.some((x: Any) => x.tenantId === busy.tenantId));
    const mine = view.tenants.find((x: Any) => x.tenantId === busy.tenantId);
    expect(mine.regions).toEqual([{ region: 'weur', attainments: [expect.objectContaining({ score: 100 })] }]);
    expect(view.unreachableRegions).toEqual([]);
    expect((await call('GET', '/admin/sla', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('answers Graph errors: 400 for bad intervals and on v1.0, 403 without Reports.Read.All', async () => {
    const t = await newTokenTenant();
    const bad = await report(t, '/reports/serviceActivity/getMetricsForMfaSignInSuccess(inclusiveIntervalStartDateTime=2026-12-02T10:00:00Z,exclusiveIntervalEndDateTime=2026-12-02T09:00:00Z,aggregationIntervalInMinutes=5)');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Any).error.code).toBe('badRequest');
    const interval = await metric(t, 'getMetricsForMfaSignInSuccess').then(() => report(t, '/reports/serviceActivity/getMetricsForMfaSignInSuccess(inclusiveIntervalStartDateTime=2026-12-02T10:00:00Z,exclusiveIntervalEndDateTime=2026-12-02T11:00:00Z,aggregationIntervalInMinutes=7)'));
    expect(interval.status).toBe(400);
    expect((await report(t, '/reports/serviceActivity/getMetricsForNothing()')).status).toBe(400);
    expect((await report(t, '/reports/sla/azureADAuthentication', 'v1.0')).status).toBe(400);
    // The admin app holds Directory.ReadWrite.All, which Graph does not accept for reports.
    const app = await appToken(t);
    const denied = await call('GET', '/beta/reports/sla/azureADAuthentication', { headers: { authorization: `Bearer ${app}` } });
    expect(denied.status).toBe(403);
    expect((await call('POST', '/beta/reports/sla/azureADAuthentication', { headers: { 'x-tessera-tenant': t.tenantId }, body: {} })).status).toBe(405);
  });
});
