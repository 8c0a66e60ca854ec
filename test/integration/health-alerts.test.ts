import { describe, expect, it } from 'vitest';
import { call, type Any } from './helpers.js';
import { basic, form, newTokenTenant, type TokenTenant } from './token-helpers.js';

const beta = (t: TokenTenant, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) =>
  call(method, `/beta${path}`, { ...opts, headers: { 'x-tessera-tenant': t.tenantId, ...opts.headers } });
const failToken = (t: TokenTenant) =>
  form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' }, { authorization: basic(t.adminClientId, 'wrong'), 'x-tessera-region': 'weur' });

/** Outcomes flush within 5 s and the monitor evaluates every 500 ms here: poll, at most ~30 s. */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await read();
  for (let i = 0; i < 120 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 250));
    v = await read();
  }
  return v;
}

describe('health monitoring alerts (Graph beta reports/healthMonitoring)', () => {
  it('raises a tokenIssuanceFailure alert on a burst of failing requests, shows it per the evolvable-enum rule, and resolves it', async () => {
    const t = await newTokenTenant();
    const patch = await beta(t, 'PATCH', '/reports/healthMonitoring/alertConfigurations/tokenIssuanceFailure', { body: { tesseraThresholds: { minVolume: 5, minFailures: 5, windowMinutes: 5 } } });
    expect(patch.status).toBe(204);
    const cfg = (await (await beta(t, 'GET', '/reports/healthMonitoring/alertConfigurations/tokenIssuanceFailure')).json()) as Any;
    expect(cfg.tesseraThresholds).toMatchObject({ minVolume: 5, minFailures: 5, windowMinutes: 5, enabled: true });

    for (let i = 0; i < 6; i++) expect((await failToken(t)).status).toBe(401);
    // Other files' failovers may add cellFailover alerts to this tenant's cell: only the rate alerts count here.
    const rateAlerts = async () => ((await (await beta(t, 'GET', '/reports/healthMonitoring/alerts', { headers: { prefer: 'include-unknown-enum-members' } })).json()) as Any).value.filter((a: Any) => a.alertType === 'tokenIssuanceFailure');
    const list = { value: await until(rateAlerts, (v) => v.length > 0) };
    expect(list.value).toHaveLength(1);
    const alert = list.value[0];
    expect(alert).toMatchObject({ alertType: 'tokenIssuanceFailure', scenario: 'tokenIssuance', category: 'authentication', state: 'active' });
    expect(alert.enrichment.impacts[0]).toMatchObject({ resourceType: 'application', impactedCount: 1, impactedCountLimitExceeded: false });
    expect(alert.signals).toMatchObject({ failures: 6, attempts: 6 });

    // Without the Prefer header, Tessera's own enum members read as unknownFutureValue.
    const plain = (await (await beta(t, 'GET', `/reports/healthMonitoring/alerts/${alert.id}`)).json()) as Any;
    expect(plain).toMatchObject({ id: alert.id, alertType: 'unknownFutureValue', scenario: 'unknownFutureValue' });

    // One active alert per type: more failures do not raise a second one.
    for (let i = 0; i < 6; i++) await failToken(t);
    await new Promise((r) => setTimeout(r, 6_500));
    expect(await rateAlerts()).toHaveLength(1);

    expect((await beta(t, 'PATCH', `/reports/healthMonitoring/alerts/${alert.id}`, { body: { state: 'resolved' } })).status).toBe(204);
    expect((await beta(t, 'PATCH', `/reports/healthMonitoring/alerts/${alert.id}`, { body: { state: 'resolved' } })).status).toBe(204);
    expect(((await (await beta(t, 'GET', `/reports/healthMonitoring/alerts/${alert.id}`)).json()) as Any).state).toBe('resolved');
  });

  it('answers Graph errors for unknown alerts, bad PATCH bodies and unknown alert types', async () => {
    const t = await newTokenTenant();
    expect((await beta(t, 'GET', '/reports/healthMonitoring/alerts/nope')).status).toBe(404);
    expect((await beta(t, 'PATCH', '/reports/healthMonitoring/alertConfigurations/tokenIssuanceFailure', { body: { tesseraThresholds: { minVolume: -1 } } })).status).toBe(400);
    expect((await beta(t, 'GET', '/reports/healthMonitoring/alertConfigurations/notAType')).status).toBe(404);
    const list = (await (await beta(t, 'GET', '/reports/healthMonitoring/alertConfigurations')).json()) as Any;
    expect(list.value.map((c: Any) => c.id)).toEqual(['mfaSignInFailure', 'conditionalAccessBlockedSignIn']);
    expect((await call('GET', '/v1.0/reports/healthMonitoring/alerts', { headers: { 'x-tessera-tenant': t.tenantId } })).status).toBe(400);
  });
});
