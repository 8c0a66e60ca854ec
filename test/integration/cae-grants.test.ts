import { describe, expect, it } from 'vitest';
import { answerConsent, authorizeUrl, call, codeFor, decodeJwt, form, raw, redeem, s256, sample, submitPassword, VERIFIER, type Sample } from './token-helpers.js';

const CP1 = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });

async function codeWith(s: Sample, scope: string, extra: Record<string, string>): Promise<string> {
  const r = await answerConsent(await submitPassword(s, authorizeUrl(s, scope, await s256(VERIFIER), extra), s.password));
  const loc = r.headers.get('location');
  if (r.status !== 302 || !loc) throw new Error(`sign-in: ${r.status} ${await r.text()}`);
  return new URL(loc).searchParams.get('code')!;
}

const lifetime = (jwt: string) => {
  const p = decodeJwt(jwt).payload;
  return Number(p['exp']) - Number(p['iat']);
};

const SCOPE = 'openid profile offline_access User.Read';
const g = (s: Sample, method: string, path: string, body?: unknown) => call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': s.t.tenantId } });
const refresh = (s: Sample, rt: string) => form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: s.appId, refresh_token: rt });

async function signIn(s: Sample): Promise<{ access_token: string; refresh_token: string }> {
  const r = await redeem(s, await codeFor(s, SCOPE));
  expect(r.status).toBe(200);
  return (await r.json()) as { access_token: string; refresh_token: string };
}

async function refused(r: Response): Promise<{ error: string; code: number | undefined }> {
  expect(r.status).toBe(400);
  const b = (await r.json()) as { error: string; error_codes: number[] };
  return { error: b.error, code: b.error_codes[0] };
}

describe('critical events and the token endpoint (core/cae/grant-checks.ts)', () => {
  it('revokeSignInSessions: 200 {value: true}; earlier refresh tokens fail with AADSTS50173; a new sign-in starts after the event', async () => {
    const s = await sample();
    const before = await signIn(s);
    const r = await g(s, 'POST', `/users/${s.userId}/revokeSignInSessions`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ value: true });
    expect(await refused(await refresh(s, before.refresh_token))).toEqual({ error: 'invalid_grant', code: 50173 });
    const user = (await (await g(s, 'GET', `/users/${s.userId}?$select=signInSessionsValidFromDateTime`)).json()) as { signInSessionsValidFromDateTime: string };
    const eventSec = Math.floor(Date.parse(user.signInSessionsValidFromDateTime) / 1000);
    // A token issued in the event's own second counts as issued before it: a client waits for the next.
    while (Date.now() < (eventSec + 1) * 1000) await new Promise((r) => setTimeout(r, 50));
    const after = await signIn(s);
    expect(Number(decodeJwt(after.access_token).payload['iat'])).toBeGreaterThan(eventSec);
    expect((await refresh(s, after.refresh_token)).status).toBe(200);
  });

  it('a disabled account fails with AADSTS50057, a password reset with AADSTS50133', async () => {
    const s = await sample();
    const t1 = await signIn(s);
    expect((await g(s, 'PATCH', `/users/${s.userId}`, { passwordProfile: { password: 'Another-Horse-10' } })).status).toBe(204);
    expect(await refused(await refresh(s, t1.refresh_token))).toEqual({ error: 'invalid_grant', code: 50133 });
    const s2 = { ...s, password: 'Another-Horse-10' };
    const t2 = await signIn(s2);
    expect((await g(s, 'PATCH', `/users/${s.userId}`, { accountEnabled: false })).status).toBe(204);
    expect(await refused(await refresh(s, t2.refresh_token))).toEqual({ error: 'invalid_grant', code: 50057 });
  });

  it('reuse detection in one family revokes the user\'s other families issued before it', async () => {
    const s = await sample();
    const other = await signIn(s);
    const t1 = await signIn(s);
    const r2 = await refresh(s, t1.refresh_token);
    expect(r2.status).toBe(200);
    expect((await refresh(s, t1.refresh_token)).status).toBe(400); // the replay
    expect(await refused(await refresh(s, other.refresh_token))).toEqual({ error: 'invalid_grant', code: 50173 });
  });
});

describe('the claims parameter and token lifetimes (core/cae/claims-request.ts)', () => {
  it('a CAE-capable client gets a 24 h Graph token with xms_cc; a non-capable one keeps 1 h without it', async () => {
    const s = await sample();
    const capable = (await (await redeem(s, await codeWith(s, SCOPE, { claims: CP1 }))).json()) as { access_token: string; expires_in: number };
    expect(lifetime(capable.access_token)).toBe(86_400);
    expect(capable.expires_in).toBe(86_400);
    expect(decodeJwt(capable.access_token).payload['xms_cc']).toEqual(['cp1']);
    const plain = await signIn(s);
    expect(lifetime(plain.access_token)).toBe(3600);
    expect(decodeJwt(plain.access_token).payload['xms_cc']).toBeUndefined();
    // The capability may also come with the refresh (MSAL sends it on every token request).
    const refreshed = (await (await form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: s.appId, refresh_token: plain.refresh_token, claims: CP1 })).json()) as { access_token: string };
    expect(lifetime(refreshed.access_token)).toBe(86_400);
  });

  it('a third-party API keeps 1 h tokens and gets xms_cc only when it asks for it as an optional claim', async () => {
    const s = await sample();
    const scope = 'openid offline_access api://orders/Orders.Read';
    const t1 = (await (await redeem(s, await codeWith(s, scope, { claims: CP1 }))).json()) as { access_token: string };
    expect(lifetime(t1.access_token)).toBe(3600);
    expect(decodeJwt(t1.access_token).payload['xms_cc']).toBeUndefined();
    const api = (await (await g(s, 'GET', `/applications?$filter=${encodeURIComponent(`appId eq '${s.apiAppId}'`)}`)).json()) as { value: Array<{ id: string }> };
    expect((await g(s, 'PATCH', `/applications/${api.value[0]!.id}`, { optionalClaims: { accessToken: [{ name: 'xms_cc' }] } })).status).toBe(204);
    const t2 = (await (await redeem(s, await codeWith(s, scope, { claims: CP1 }))).json()) as { access_token: string };
    expect(lifetime(t2.access_token)).toBe(3600);
    expect(decodeJwt(t2.access_token).payload['xms_cc']).toEqual(['cp1']);
  });

  it('a malformed claims parameter is invalid_request at the token endpoint and at authorize', async () => {
    const s = await sample();
    const t = await signIn(s);
    const r = await form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: s.appId, refresh_token: t.refresh_token, claims: '{"access_token":' });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: 'invalid_request', error_codes: [90014] });
    const page = await raw('GET', authorizeUrl(s, SCOPE, await s256(VERIFIER), { claims: '[1]' }));
    expect(page.status).toBe(302);
    const loc = new URL(page.headers.get('location')!);
    expect(loc.searchParams.get('error')).toBe('invalid_request');
  });
});
