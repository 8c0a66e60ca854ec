import { describe, expect, it } from 'vitest';
import { home, js, q, type Any } from './helpers.js';
import {
  answerConsent, authorizeUrl, decodeJwt, form, formFields, isConsentPage, raw, redeem, s256, sample, submitPassword, VERIFIER, type Sample,
} from './token-helpers.js';

const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const token = (s: Sample) => `/${s.t.tenantId}/oauth2/v2.0/token`;
const location = (r: Response) => new URL(r.headers.get('location')!);

async function clientSpId(s: Sample): Promise<string | undefined> {
  const r = await js(await home(s.t, 'GET', `/servicePrincipals?$filter=${q(`appId eq '${s.appId}'`)}`));
  return r.value[0]?.id;
}

async function grantsOf(s: Sample): Promise<Any[]> {
  const sp = await clientSpId(s);
  if (sp === undefined) return [];
  return (await js(await home(s.t, 'GET', `/oauth2PermissionGrants?$filter=${q(`clientId eq '${sp}'`)}`))).value;
}

async function signIn(s: Sample, scope: string, extra: Record<string, string> = {}): Promise<Response> {
  return submitPassword(s, authorizeUrl(s, scope, await s256(VERIFIER), extra), s.password);
}

describe('interactive consent (/authorize)', () => {
  it('asks a member for user-consentable scopes once, records a Principal grant on Accept, then issues codes without asking', async () => {
    const s = await sample();
    const page = await signIn(s, 'openid offline_access User.Read');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(isConsentPage(html)).toBe(true);
    expect(html).toContain('data-scope="User.Read"');
    expect(html).not.toContain('consent_org');
    expect(await grantsOf(s)).toEqual([]);

    const accepted = await answerConsent(new Response(html, { status: 200 }));
    expect(accepted.status).toBe(302);
    expect(location(accepted).searchParams.get('code')).toBeTruthy();
    const graphSp = (await js(await home(s.t, 'GET', `/servicePrincipals?$filter=${q(`appId eq '${GRAPH_APP_ID}'`)}`))).value[0];
    const grants = await grantsOf(s);
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ consentType: 'Principal', principalId: s.userId, resourceId: graphSp.id, scope: 'openid offline_access User.Read' });

    const again = await signIn(s, 'openid User.Read');
    expect(again.status).toBe(302);
    const tokens = (await (await redeem(s, location(again).searchParams.get('code')!)).json()) as { access_token: string };
    expect(decodeJwt(tokens.access_token).payload.scp).toBe('User.Read');
  });

  it('shows a member asking for Directory.ReadWrite.All the approval-required page (AADSTS90094) and issues no code', async () => {
    const s = await sample();
    const r = await signIn(s, 'openid Directory.ReadWrite.All');
    expect(r.status).toBe(403);
    expect(r.headers.get('location')).toBeNull();
    const html = await r.text();
    expect(html).toContain('<title>Approval required</title>');
    expect(html).toContain('AADSTS90094');
    expect(html).not.toContain('<form');
    expect(await grantsOf(s)).toEqual([]);
  });

  it('redirects with access_denied (AADSTS65004) when the user cancels, recording nothing', async () => {
    const s = await sample();
    const r = await answerConsent(await signIn(s, 'openid User.Read'), { choice: 'cancel' });
    expect(r.status).toBe(302);
    const loc = location(r);
    expect(loc.searchParams.get('error')).toBe('access_denied');
    expect(loc.searchParams.get('error_description')).toContain('AADSTS65004');
    expect(loc.searchParams.get('state')).toBe('st-1');
    expect(loc.searchParams.get('code')).toBeNull();
    expect(await grantsOf(s)).toEqual([]);
  });

  it('answers a silent request (prompt=none) with login_required (AADSTS50058), never the sign-in form: there is no SSO session', async () => {
    const s = await sample();
    const silent = await raw('GET', authorizeUrl(s, 'openid User.Read', await s256(VERIFIER), { prompt: 'none' }));
    expect(silent.status).toBe(302);
    const loc = location(silent);
    expect(loc.searchParams.get('error')).toBe('login_required');
    expect(loc.searchParams.get('error_description')).toContain('AADSTS50058');
    expect(loc.searchParams.get('state')).toBe('st-1');
    expect(loc.searchParams.get('code')).toBeNull();
  });

  it('a sign-in posted with prompt=none and no consent is consent_required (AADSTS65001), and prompt=consent shows the page even when granted', async () => {
    const s = await sample();
    const page = await raw('GET', authorizeUrl(s, 'openid User.Read', await s256(VERIFIER)));
    const { action, fields } = formFields(await page.text());
    const none = await form(action, { ...fields, prompt: 'none', username: s.upn, password: s.password });
    expect(none.status).toBe(302);
    expect(location(none).searchParams.get('error')).toBe('consent_required');
    expect(location(none).searchParams.get('error_description')).toContain('AADSTS65001');

    expect((await answerConsent(await signIn(s, 'openid User.Read'))).status).toBe(302);
    const forced = await signIn(s, 'openid User.Read', { prompt: 'consent' });
    expect(isConsentPage(await forced.clone().text())).toBe(true);
    expect((await answerConsent(forced)).status).toBe(302);
  });

  it('refuses a member who posts "on behalf of your organization" without the box being offered', async () => {
    const s = await sample();
    const r = await answerConsent(await signIn(s, 'openid User.Read'), { organization: true });
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('AADSTS90094');
    expect(await grantsOf(s)).toEqual([]);
  });

  it('refuses a consent page replayed for another request than the one it was shown for', async () => {
    const s = await sample();
    const page = await signIn(s, 'openid User.Read');
    const { action, fields } = formFields(await page.text());
    const r = await form(action, { ...fields, scope: 'openid User.Read User.ReadBasic.All', consent: 'accept' });
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('session expired');
    expect(await grantsOf(s)).toEqual([]);
  });
});

describe('consent at the token endpoint', () => {
  it('stops refresh with invalid_grant AADSTS65001 once the grant is deleted', async () => {
    const s = await sample();
    const code = location(await answerConsent(await signIn(s, 'openid offline_access User.Read'))).searchParams.get('code')!;
    const t1 = (await (await redeem(s, code)).json()) as { refresh_token: string };
    const refresh = () => form(token(s), { grant_type: 'refresh_token', client_id: s.appId, refresh_token: t1.refresh_token });
    const [grant] = await grantsOf(s);
    expect((await home(s.t, 'DELETE', `/oauth2PermissionGrants/${grant.id}`)).status).toBe(204);
    const r = await refresh();
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: string; error_codes: number[]; error_description: string };
    expect(body.error).toBe('invalid_grant');
    expect(body.error_codes).toEqual([65001]);
    expect(body.error_description).toContain(s.appId);
  });

  it('device code: the verification page asks for consent; a grant deleted before the poll gives invalid_grant AADSTS65001', async () => {
    const s = await sample();
    const dc = (await (await form(`/${s.t.tenantId}/oauth2/v2.0/devicecode`, { client_id: s.appId, scope: 'openid offline_access User.Read' })).json()) as { device_code: string; user_code: string; verification_uri: string };
    const page = await raw('GET', new URL(dc.verification_uri).pathname);
    const { action, fields } = formFields(await page.text());
    const signedIn = await form(action, { ...fields, user_code: dc.user_code, username: s.upn, password: s.password });
    expect(isConsentPage(await signedIn.clone().text())).toBe(true);
    expect(await (await answerConsent(signedIn)).text()).toContain('You are signed in');
    const [grant] = await grantsOf(s);
    expect((await home(s.t, 'DELETE', `/oauth2PermissionGrants/${grant.id}`)).status).toBe(204);
    const poll = await form(token(s), { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: s.appId, device_code: dc.device_code });
    expect(poll.status).toBe(400);
    expect(((await poll.json()) as { error_codes: number[] }).error_codes).toEqual([65001]);
  });

  it('device code: a member asking for Directory.ReadWrite.All gets the approval-required page and the device is never approved', async () => {
    const s = await sample();
    const dc = (await (await form(`/${s.t.tenantId}/oauth2/v2.0/devicecode`, { client_id: s.appId, scope: 'Directory.ReadWrite.All' })).json()) as { device_code: string; user_code: string; verification_uri: string };
    const { action, fields } = formFields(await (await raw('GET', new URL(dc.verification_uri).pathname)).text());
    const r = await form(action, { ...fields, user_code: dc.user_code, username: s.upn, password: s.password });
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('AADSTS90094');
    const poll = await form(token(s), { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: s.appId, device_code: dc.device_code });
    expect(((await poll.json()) as { error: string }).error).toBe('authorization_pending');
  });

  it('device code: Cancel on the consent page declines the device', async () => {
    const s = await sample();
    const dc = (await (await form(`/${s.t.tenantId}/oauth2/v2.0/devicecode`, { client_id: s.appId, scope: 'User.Read' })).json()) as { device_code: string; user_code: string; verification_uri: string };
    const { action, fields } = formFields(await (await raw('GET', new URL(dc.verification_uri).pathname)).text());
    const r = await answerConsent(await form(action, { ...fields, user_code: dc.user_code, username: s.upn, password: s.password }), { choice: 'cancel' });
    expect(await r.text()).toContain('You declined');
    const poll = await form(token(s), { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: s.appId, device_code: dc.device_code });
    expect(((await poll.json()) as { error: string }).error).toBe('access_denied');
  });
});
