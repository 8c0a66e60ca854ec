import { describe, expect, it } from 'vitest';
import { call, codeFor, decodeJwt, form, redeem, sample, type Sample } from './token-helpers.js';

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
