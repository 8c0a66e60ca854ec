import * as client from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';
import { baseUrl, createTenant, operatorKey, type Tenant } from './service.js';

const REGIONS = ['weur', 'eeur', 'enam', 'apac'];
const operator = (tenantId?: string) => ({ authorization: `Bearer ${operatorKey()}`, ...(tenantId !== undefined ? { 'x-tessera-tenant': tenantId } : {}) });

async function attainments(t: Tenant): Promise<Array<{ startDate: string; endDate: string; score: number }>> {
  const r = await fetch(`${baseUrl()}/beta/reports/sla/azureADAuthentication`, { headers: operator(t.tenantId) });
  expect(r.status).toBe(200);
  return ((await r.json()) as { attainments: Array<{ startDate: string; endDate: string; score: number }> }).attainments;
}

/** Outcomes reach the regional stores within one flush interval (5 s): poll until `done`, at most ~30 s. */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 120 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 250));
    v = await read();
  }
  return v;
}

async function faults(plan: unknown): Promise<void> {
  const r = await fetch(`${baseUrl()}/admin/faults`, { method: plan === null ? 'DELETE' : 'PUT', headers: { ...operator(), 'content-type': 'application/json' }, ...(plan === null ? {} : { body: JSON.stringify(plan) }) });
  expect(r.status).toBe(200);
}

/** A raw token request; `variant` (an ignored parameter) keeps the edge's read-set cache from answering it. */
const rawToken = (t: Tenant, secret: string, variant: string) =>
  fetch(`${baseUrl()}/${t.tenantId}/oauth2/v2.0/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-tessera-region': 'weur' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: secret, scope: 'https://graph.microsoft.com/.default', variant }),
  });

describe('SLA attainment (Graph beta reports/sla/azureADAuthentication) against wrangler dev', () => {
  afterEach(() => faults(null));

  it('is 100 after successful sign-ins, unchanged by wrong secrets, and lower after injected service failures', async () => {
    const t = await createTenant('weur');
    const issuer = new URL(`${baseUrl()}/${t.tenantId}/v2.0`);
    const config = await client.discovery(issuer, t.adminClientId, t.adminClientSecret);
    for (let i = 0; i < 3; i++) await client.clientCredentialsGrant(config, { scope: 'https://graph.microsoft.com/.default' });
    const month = new Date().toISOString().slice(0, 7);
    expect(await until(() => attainments(t), (a) => a.length === 1)).toEqual([{ startDate: `${month}-01`, endDate: expect.stringMatching(new RegExp(`^${month}-\\d{2}$`)), score: 100 }]);

    const wrong = await client.discovery(issuer, t.adminClientId, 'not-the-secret');
    await expect(client.clientCredentialsGrant(wrong, { scope: 'https://graph.microsoft.com/.default' })).rejects.toMatchObject({ error: 'invalid_client' });
    // Flushed within 5 s; then the score must still be 100.
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await attainments(t))[0]?.score).toBe(100);

    await faults({ downRegions: REGIONS });
    expect((await rawToken(t, t.adminClientSecret, 'down')).status).toBe(503);
    await faults(null);
    // The flush that failed while the regions were down is re-sent with the next one.
    await client.clientCredentialsGrant(config, { scope: 'https://graph.microsoft.com/.default' });
    const after = await until(() => attainments(t), (a) => a[0]?.score !== 100);
    // 4 successes, 1 service failure.
    expect(after[0]?.score).toBe(80);
  });
});
