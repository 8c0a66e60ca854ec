import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { totpAt } from '../../core/token/totp.js';
import { answerConsent, authorizeUrl, call, codeFor, form, formFields, raw, redeem, s256, sample, submitPassword, VERIFIER } from './token-helpers.js';

const policy = (state: string, controls: string[], extra: Record<string, unknown> = {}) => ({
  displayName: `p-${controls.join('-')}-${state}`, state,
  conditions: { users: { includeUsers: ['All'] }, applications: { includeApplications: ['All'] }, ...extra },
  grantControls: { operator: 'OR', builtInControls: controls },
});

async function signIns(tenantId: string, query = ''): Promise<{ value: Array<Record<string, unknown>>; '@odata.nextLink'?: string }> {
  const r = await call('GET', `/v1.0/auditLogs/signIns${query}`, { headers: { 'x-tessera-tenant': tenantId } });
  expect(r.status).toBe(200);
  return (await r.json()) as { value: Array<Record<string, unknown>>; '@odata.nextLink'?: string };
}

describe('authorization code + PKCE and refresh tokens', () => {
  it('issues tokens with an ID token and nonce, rotates refresh tokens, and revokes the family on replay', async () => {
    const s = await sample();
    const code = await codeFor(s, 'openid profile offline_access User.Read');
    const r = await redeem(s, code);
    expect(r.status).toBe(200);
    const t1 = (await r.json()) as { access_token: string; id_token: string; refresh_token: string; scope: string };
    expect(t1.id_token).toBeTruthy();
    expect(JSON.parse(atob(t1.id_token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')))).toMatchObject({ nonce: 'n-1', aud: s.appId, oid: s.userId });

    const refresh = (rt: string) => form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: s.appId, refresh_token: rt });
    const r2 = await refresh(t1.refresh_token);
    expect(r2.status).toBe(200);
    const t2 = (await r2.json()) as { refresh_token: string };
    expect(t2.refresh_token).not.toBe(t1.refresh_token);
    const replay = await refresh(t1.refresh_token);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
    const afterReplay = await refresh(t2.refresh_token);
    expect(afterReplay.status).toBe(400);
    expect(((await afterReplay.json()) as { error_codes: number[] }).error_codes).toEqual([50173]);
  });

  it('a replayed code revokes the refresh token its first redemption issued (RFC 6749 §4.1.2)', async () => {
    const s = await sample();
    const code = await codeFor(s, 'openid offline_access User.Read');
    const first = (await (await redeem(s, code)).json()) as { refresh_token: string };
    const replay = await redeem(s, code);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error_codes: number[] }).error_codes).toEqual([54005]);
    const r = await form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: s.appId, refresh_token: first.refresh_token });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error_codes: number[] }).error_codes).toEqual([50173]);
  });

  it('requires S256 PKCE for public clients and an exact redirect URI', async () => {
    const s = await sample();
    const noPkce = await raw('GET', `/${s.t.tenantId}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: s.appId, redirect_uri: s.redirectUri, response_type: 'code', scope: 'openid', state: 'x' })}`);
    expect(noPkce.status).toBe(302);
    expect(new URL(noPkce.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const badRedirect = await raw('GET', authorizeUrl({ ...s, redirectUri: `${s.redirectUri}/evil` }, 'openid', await s256(VERIFIER)));
    expect(badRedirect.status).toBe(400);
    expect(badRedirect.headers.get('location')).toBeNull();
    expect(await badRedirect.text()).toContain('AADSTS50011');
  });
});

describe('smart lockout', () => {
  it('locks the account after repeated failures, refusing even the right password', async () => {
    const s = await sample();
    const url = authorizeUrl(s, 'openid', await s256(VERIFIER));
    for (let i = 0; i < 10; i++) expect(await (await submitPassword(s, url, 'wrong-password')).text()).toContain('incorrect');
    const locked = await submitPassword(s, url, s.password);
    expect(locked.status).toBe(200);
    expect(await locked.text()).toContain('locked');
    const log = await signIns(s.t.tenantId, '?$top=1');
    expect((log.value[0]!.status as { errorCode: number }).errorCode).toBe(50053);
  });
});

describe('conditional access', () => {
  it('blocks sign-in under an enabled block policy and records the policy outcome', async () => {
    const s = await sample();
    expect((await call('POST', '/v1.0/identity/conditionalAccess/policies', { body: policy('enabled', ['block']), headers: { 'x-tessera-tenant': s.t.tenantId } })).status).toBe(201);
    const r = await submitPassword(s, authorizeUrl(s, 'openid', await s256(VERIFIER)), s.password);
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('AADSTS53003');
    const ev = (await signIns(s.t.tenantId)).value[0]!;
    expect(ev.conditionalAccessStatus).toBe('failure');
    expect((ev.appliedConditionalAccessPolicies as Array<{ result: string }>)[0]!.result).toBe('failure');
  });

  it('records report-only policies without enforcing them', async () => {
    const s = await sample();
    await call('POST', '/v1.0/identity/conditionalAccess/policies', { body: policy('enabledForReportingButNotEnforced', ['block']), headers: { 'x-tessera-tenant': s.t.tenantId } });
    await codeFor(s, 'openid');
    const ev = (await signIns(s.t.tenantId)).value[0]!;
    expect((ev.status as { errorCode: number }).errorCode).toBe(0);
    expect((ev.appliedConditionalAccessPolicies as Array<{ result: string }>)[0]!.result).toBe('reportOnlyFailure');
  });

  it('requires MFA: enrols a TOTP authenticator, then signs in with the code', async () => {
    const s = await sample();
    await call('POST', '/v1.0/identity/conditionalAccess/policies', { body: policy('enabled', ['mfa']), headers: { 'x-tessera-tenant': s.t.tenantId } });
    const page = await submitPassword(s, authorizeUrl(s, 'openid', await s256(VERIFIER)), s.password);
    const html = await page.text();
    expect(html).toContain('otpauth://totp/');
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(html)![1]!;
    const { action, fields } = formFields(html);
    const bad = await form(action, { ...fields, otp: '000000' });
    expect(await bad.text()).toContain('did not work');
    const done = await answerConsent(await form(action, { ...fields, otp: await totpAt(secret, Date.now()) }));
    expect(done.status).toBe(302);
    const code = new URL(done.headers.get('location')!).searchParams.get('code')!;
    const tok = (await (await redeem(s, code)).json()) as { access_token: string };
    expect(JSON.parse(atob(tok.access_token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).amr).toContain('mfa');
    const ev = (await signIns(s.t.tenantId)).value[0]!;
    expect(ev.authenticationRequirement).toBe('multiFactorAuthentication');
    // The seed is replicated state: no replica holds it in clear, only its sealed form.
    const rows = await runInDurableObject(env.REPLICA.get(env.REPLICA.idFromName(`${s.t.cell}:${s.t.homeRegion}`)), (_o, state) =>
      state.storage.sql.exec<{ value: string }>(`SELECT value FROM kv WHERE key LIKE ?`, `t/${s.t.tenantId}/totp/%`).toArray(),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.value).not.toContain(secret);
    expect(JSON.parse(rows[0]!.value).secret).toMatch(/^sb1\./);
    expect((ev.appliedConditionalAccessPolicies as Array<{ result: string }>)[0]!.result).toBe('success');
  });

  it('pages the sign-in log with $top and @odata.nextLink', async () => {
    const s = await sample();
    const url = authorizeUrl(s, 'openid', await s256(VERIFIER));
    for (let i = 0; i < 3; i++) await submitPassword(s, url, 'wrong');
    const first = await signIns(s.t.tenantId, '?$top=2');
    expect(first.value).toHaveLength(2);
    expect(first['@odata.nextLink']).toContain('$skiptoken=');
    const next = new URL(first['@odata.nextLink']!);
    const second = await signIns(s.t.tenantId, next.search);
    expect(second.value).toHaveLength(1);
  });
});

describe('device code', () => {
  it('polls pending, slows down, then issues tokens after the user approves', async () => {
    const s = await sample();
    const dc = await form(`/${s.t.tenantId}/oauth2/v2.0/devicecode`, { client_id: s.appId, scope: 'openid offline_access User.Read' });
    expect(dc.status).toBe(200);
    const d = (await dc.json()) as { device_code: string; user_code: string; verification_uri: string; interval: number };
    const poll = () => form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: s.appId, device_code: d.device_code });
    expect(((await (await poll()).json()) as { error: string }).error).toBe('authorization_pending');
    expect(((await (await poll()).json()) as { error: string }).error).toBe('slow_down');
    const page = await raw('GET', new URL(d.verification_uri).pathname);
    const { action, fields } = formFields(await page.text());
    const approved = await answerConsent(await form(action, { ...fields, user_code: d.user_code, username: s.upn, password: s.password }));
    expect(await approved.text()).toContain('signed in');
    const done = await poll();
    expect(done.status).toBe(200);
    expect(((await done.json()) as { refresh_token?: string }).refresh_token).toBeTruthy();
  });

  it('accepts grant_type=device_code, the name MSAL and Azure Identity send, like the RFC 8628 URN', async () => {
    const s = await sample();
    const dc = await form(`/${s.t.tenantId}/oauth2/v2.0/devicecode`, { client_id: s.appId, scope: 'openid User.Read' });
    const d = (await dc.json()) as { device_code: string; user_code: string; verification_uri: string };
    const poll = () => form(`/${s.t.tenantId}/oauth2/v2.0/token`, { grant_type: 'device_code', client_id: s.appId, device_code: d.device_code });
    expect(((await (await poll()).json()) as { error: string }).error).toBe('authorization_pending');
    const page = await raw('GET', new URL(d.verification_uri).pathname);
    const { action, fields } = formFields(await page.text());
    await answerConsent(await form(action, { ...fields, user_code: d.user_code, username: s.upn, password: s.password }));
    const done = await poll();
    expect(done.status).toBe(200);
    expect(((await done.json()) as { access_token?: string }).access_token).toBeTruthy();
  });
});
