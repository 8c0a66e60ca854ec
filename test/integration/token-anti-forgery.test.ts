import { describe, expect, it } from 'vitest';
import { totpAt } from '../../core/token/totp.js';
import { authorizeUrl, call, form, formFields, raw, s256, adminConsentFor, sample, VERIFIER } from './token-helpers.js';

const NO_COOKIE = { cookie: '' };
const refusedPage = async (r: Response) => {
  expect(r.status).toBe(403);
  expect(r.headers.get('location')).toBeNull();
  const html = await r.text();
  expect(html).toContain('not opened from this site');
  expect(html).toContain('<form method="post"');
  return html;
};

describe('anti-forgery on the sign-in form (core/token/anti-forgery.ts)', () => {
  it('the page sets an HttpOnly SameSite=Lax cookie and carries the matching field', async () => {
    const s = await sample();
    await adminConsentFor(s, 'openid profile offline_access User.Read');
    const page = await raw('GET', authorizeUrl(s, 'openid', await s256(VERIFIER)), { headers: NO_COOKIE });
    expect(page.headers.get('set-cookie')).toMatch(/^tessera-af=v1\.[^;]+; Path=\/; Max-Age=1800; HttpOnly; SameSite=Lax$/);
    expect(formFields(await page.text()).fields['af']).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a POST without the cookie, with a forged cookie, or without the field, with the page\'s own error', async () => {
    const s = await sample();
    await adminConsentFor(s, 'openid profile offline_access User.Read');
    const page = await raw('GET', authorizeUrl(s, 'openid', await s256(VERIFIER)), { headers: NO_COOKIE });
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const { action, fields } = formFields(await page.text());
    const creds: Record<string, string> = { ...fields, username: s.upn, password: s.password };
    await refusedPage(await form(action, creds, NO_COOKIE));
    // Tamper inside the MAC: its last base64url character carries padding bits, so changing it
    // may not change the decoded bytes (the same cookie, rightly accepted).
    const i = cookie.length - 10;
    const tampered = `${cookie.slice(0, i)}${cookie[i] === 'A' ? 'z' : 'A'}${cookie.slice(i + 1)}`;
    await refusedPage(await form(action, creds, { cookie: tampered }));
    await refusedPage(await form(action, creds, { cookie: 'tessera-af=v1.AAAAAAAAAAAAAAAAAAAAAA.9999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }));
    const withoutField = Object.fromEntries(Object.entries(creds).filter(([k]) => k !== 'af'));
    await refusedPage(await form(action, withoutField, { cookie }));
    await refusedPage(await form(action, { ...creds, af: 'x'.repeat(43) }, { cookie }));
    // A refused POST checks no password and counts no failure: the user still signs in.
    const ok = await form(action, creds, { cookie });
    expect(ok.status).toBe(302);
  });

  it('a pair made for one tenant is refused by another', async () => {
    const a = await sample();
    const b = await sample();
    const page = await raw('GET', authorizeUrl(a, 'openid', await s256(VERIFIER)), { headers: NO_COOKIE });
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const { fields } = formFields(await page.text());
    const bPage = formFields(await (await raw('GET', authorizeUrl(b, 'openid', await s256(VERIFIER)), { headers: { cookie } })).text());
    await refusedPage(await form(bPage.action, { ...bPage.fields, af: fields['af']!, username: b.upn, password: b.password }, { cookie }));
  });

  it('a refused POST re-renders a working form: retrying from it signs in', async () => {
    const s = await sample();
    await adminConsentFor(s, 'openid profile offline_access User.Read');
    const page = await raw('GET', authorizeUrl(s, 'openid', await s256(VERIFIER)), { headers: NO_COOKIE });
    const { action, fields } = formFields(await page.text());
    const refused = await form(action, { ...fields, username: s.upn, password: s.password }, NO_COOKIE);
    const cookie = refused.headers.get('set-cookie')!.split(';')[0]!;
    const again = formFields(await refusedPage(refused));
    expect((await form(again.action, { ...again.fields, username: s.upn, password: s.password }, { cookie })).status).toBe(302);
  });

  it('protects the TOTP step', async () => {
    const s = await sample();
    await adminConsentFor(s, 'openid profile offline_access User.Read');
    await call('PUT', `/admin/tenants/${s.t.tenantId}/users/${s.userId}/mfa`, { body: { perUserMfaState: 'enforced' } });
    const page = await raw('GET', authorizeUrl(s, 'openid', await s256(VERIFIER)), { headers: NO_COOKIE });
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const first = formFields(await page.text());
    const totp = await (await form(first.action, { ...first.fields, username: s.upn, password: s.password }, { cookie })).text();
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(totp)![1]!;
    const { action, fields } = formFields(totp);
    expect(fields['af']).toBe(first.fields['af']);
    await refusedPage(await form(action, { ...fields, otp: await totpAt(secret, Date.now()) }, NO_COOKIE));
    expect((await form(action, { ...fields, otp: await totpAt(secret, Date.now()) }, { cookie })).status).toBe(302);
  });
});

describe('anti-forgery on the device verification page', () => {
  it('refuses a POST without the cookie, accepts it with', async () => {
    const s = await sample();
    await adminConsentFor(s, 'openid profile offline_access User.Read');
    const dc = (await (await form(`/${s.t.tenantId}/oauth2/v2.0/devicecode`, { client_id: s.appId, scope: 'openid' })).json()) as { user_code: string; verification_uri: string };
    const page = await raw('GET', new URL(dc.verification_uri).pathname, { headers: NO_COOKIE });
    const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
    const { action, fields } = formFields(await page.text());
    const body = { ...fields, user_code: dc.user_code, username: s.upn, password: s.password };
    await refusedPage(await form(action, body, NO_COOKIE));
    expect(await (await form(action, body, { cookie })).text()).toContain('You are signed in');
  });
});
