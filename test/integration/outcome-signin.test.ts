import { describe, expect, it } from 'vitest';
import { totpAt } from '../../core/token/totp.js';
import { answerConsent, authorizeUrl, call, form, formFields, s256, sample, submitPassword, VERIFIER, type Sample } from './token-helpers.js';

const policy = (controls: string[]) => ({
  displayName: `p-${controls.join('-')}`, state: 'enabled',
  conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] } },
  grantControls: { operator: 'OR', builtInControls: controls },
});

/** Outcomes reach the stores within a flush interval (5 s): poll the metric until it is `want`, at most ~20 s. */
async function metricTotal(s: Sample, name: string, want: number): Promise<number> {
  const start = new Date(Date.now() - 3_600_000).toISOString().slice(0, 16) + ':00Z';
  const end = new Date(Date.now() + 600_000).toISOString().slice(0, 16) + ':00Z';
  const read = async () => {
    const r = await call('GET', `/beta/reports/serviceActivity/${name}(inclusiveIntervalStartDateTime=${start},exclusiveIntervalEndDateTime=${end},aggregationIntervalInMinutes=30)`, { headers: { 'x-tessera-tenant': s.t.tenantId } });
    return ((await r.json()) as { value: { value: number }[] }).value.reduce((n, p) => n + p.value, 0);
  };
  let v = await read();
  for (let i = 0; i < 80 && v !== want; i++) {
    await new Promise((r) => setTimeout(r, 250));
    v = await read();
  }
  return v;
}

describe('outcome recording of interactive sign-in (issue 16)', () => {
  it('counts an MFA sign-in that failed the second factor and one that succeeded; the TOTP prompt itself is no outcome', async () => {
    const s = await sample();
    await call('POST', '/v1.0/identity/conditionalAccess/policies', { body: policy(['mfa']), headers: { 'x-tessera-tenant': s.t.tenantId } });
    const page = await submitPassword(s, authorizeUrl(s, 'openid', await s256(VERIFIER)), s.password);
    const html = await page.text();
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(html)![1]!;
    const { action, fields } = formFields(html);
    expect(await (await form(action, { ...fields, otp: '000000' })).text()).toContain('did not work');
    const done = await answerConsent(await form(action, { ...fields, otp: await totpAt(secret, Date.now()) }));
    expect(done.status).toBe(302);
    expect(await metricTotal(s, 'getMetricsForMfaSignInSuccess', 1)).toBe(1);
    expect(await metricTotal(s, 'getMetricsForMfaSignInFailure', 1)).toBe(1);
  });

  it('counts a Conditional Access block as a blocked sign-in, not against the SLA', async () => {
    const s = await sample();
    await call('POST', '/v1.0/identity/conditionalAccess/policies', { body: policy(['block']), headers: { 'x-tessera-tenant': s.t.tenantId } });
    expect((await submitPassword(s, authorizeUrl(s, 'openid', await s256(VERIFIER)), s.password)).status).toBe(403);
    expect(await metricTotal(s, 'getMetricsForConditionalAccessBlockedSignIn', 1)).toBe(1);
    const sla = (await (await call('GET', '/beta/reports/sla/azureADAuthentication', { headers: { 'x-tessera-tenant': s.t.tenantId } })).json()) as { attainments: { score: number }[] };
    expect(sla.attainments.map((a) => a.score)).toEqual([100]);
  });
});
