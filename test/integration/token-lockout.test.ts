import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PASSWORD_RULE_TEMPLATE_ID } from '../../core/directory/setting-templates.js';
import { clientAddress } from '../../workers/platform/client-region.js';
import { authorizeUrl, call, codeFor, s256, sample, submitPassword, VERIFIER, type Sample } from './token-helpers.js';

const HOME = { 'x-tessera-client-ip': '203.0.113.7', 'x-tessera-client-country': 'DE' };
const ELSEWHERE = { 'x-tessera-client-ip': '198.51.100.9', 'x-tessera-client-country': 'BR' };

const attempt = async (s: Sample, password: string, headers: Record<string, string>, upn = s.upn) =>
  submitPassword({ ...s, upn }, authorizeUrl(s, 'openid', await s256(VERIFIER)), password, headers);

/** A page with the parts that must differ between two users (the name typed, the form token) blanked. */
const normalised = async (r: Response, upn: string) => ({
  status: r.status,
  location: r.headers.get('location'),
  body: (await r.text()).replaceAll(upn, '{upn}').replace(/name="af" value="[^"]*"/, 'name="af" value=""'),
});

describe('smart lockout: familiar and unfamiliar locations (core/token/familiar-locations.ts)', () => {
  it('10 wrong passwords from an unfamiliar network and country do not lock the user out of their familiar /24', async () => {
    const s = await sample();
    await codeFor(s, 'openid', HOME); // the user signs in from home once
    for (let i = 0; i < 10; i++) expect(await (await attempt(s, 'wrong-password', ELSEWHERE)).text()).toContain('incorrect');
    expect(await (await attempt(s, s.password, ELSEWHERE)).text()).toContain('locked');
    // Another address in the home /24, country unknown: familiar, not locked.
    const home = await attempt(s, s.password, { 'x-tessera-client-ip': '203.0.113.200' });
    expect(home.status).toBe(302);
    expect(new URL(home.headers.get('location')!).searchParams.get('code')).toBeTruthy();
  });

  it('counts failures from a familiar location in their own bucket', async () => {
    const s = await sample();
    await codeFor(s, 'openid', HOME);
    for (let i = 0; i < 10; i++) await attempt(s, 'wrong-password', { 'x-tessera-client-ip': '203.0.113.8' });
    expect(await (await attempt(s, s.password, HOME)).text()).toContain('locked');
  });
});

describe('smart lockout: no account-existence oracle', () => {
  it('an unknown user name and a locked account get identical answers at every step', async () => {
    const s = await sample();
    const ghost = 'nobody@contoso.com';
    for (let i = 0; i < 10; i++) {
      const real = await normalised(await attempt(s, 'wrong-password', ELSEWHERE), s.upn);
      const unknown = await normalised(await attempt(s, 'wrong-password', ELSEWHERE, ghost), ghost);
      expect(unknown).toEqual(real);
    }
    const locked = await normalised(await attempt(s, s.password, ELSEWHERE), s.upn);
    const unknownLocked = await normalised(await attempt(s, 'anything', ELSEWHERE, ghost), ghost);
    expect(locked.body).toContain('locked');
    expect(unknownLocked).toEqual(locked);
  });
});

describe('smart lockout: Password Rule Settings (Graph /settings)', () => {
  it('LockoutThreshold changes how many failures lock the account', async () => {
    const s = await sample();
    const created = await call('POST', '/v1.0/settings', {
      headers: { 'x-tessera-tenant': s.t.tenantId },
      body: { templateId: PASSWORD_RULE_TEMPLATE_ID, values: [{ name: 'LockoutThreshold', value: '3' }, { name: 'LockoutDurationInSeconds', value: '120' }] },
    });
    expect(created.status).toBe(201);
    const setting = (await created.json()) as { id: string; values: Array<{ name: string; value: string }> };
    expect(setting.values).toContainEqual({ name: 'LockoutThreshold', value: '3' });
    for (let i = 0; i < 3; i++) expect(await (await attempt(s, 'wrong-password', ELSEWHERE)).text()).toContain('incorrect');
    expect(await (await attempt(s, s.password, ELSEWHERE)).text()).toContain('locked');
    const listed = (await (await call('GET', '/v1.0/settings', { headers: { 'x-tessera-tenant': s.t.tenantId } })).json()) as { value: Array<{ id: string }> };
    expect(listed.value.map((v) => v.id)).toEqual([setting.id]);
    const bad = await call('PATCH', `/v1.0/settings/${setting.id}`, { headers: { 'x-tessera-tenant': s.t.tenantId }, body: { values: [{ name: 'LockoutThreshold', value: '0' }] } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('Request_BadRequest');
  });
});

describe('client address headers (workers/platform/client-region.ts)', () => {
  it('X-Tessera-Client-IP and -Country act outside production only', () => {
    const request = new Request('https://x/', { headers: { 'cf-connecting-ip': '192.0.2.1', 'x-tessera-client-ip': '203.0.113.7', 'x-tessera-client-country': 'de' } });
    expect(clientAddress(request, { ...env, TESSERA_ENV: 'development' }, undefined)).toEqual({ ip: '203.0.113.7', country: 'DE' });
    expect(clientAddress(request, { ...env, TESSERA_ENV: 'production' }, { country: 'FR' })).toEqual({ ip: '192.0.2.1', country: 'FR' });
    const junk = new Request('https://x/', { headers: { 'x-tessera-client-ip': 'not-an-ip', 'x-tessera-client-country': 'Germany' } });
    expect(clientAddress(junk, { ...env, TESSERA_ENV: 'development' }, undefined)).toEqual({ ip: '0.0.0.0', country: null });
  });
});
