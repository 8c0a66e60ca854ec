import { describe, expect, it } from 'vitest';
import { ROLE, MEMBER_USER_TEMPLATE_ID } from '../../core/directory/role-definitions.js';
import { home, js, q, type Any } from './helpers.js';
import { assignDirectoryRole } from './role-helpers.js';
import { answerConsent, authorizeUrl, decodeJwt, form, formFields, isConsentPage, raw, redeem, s256, sample, submitPassword, VERIFIER, type Sample } from './token-helpers.js';

const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const USER_READ_ALL_SCOPE = 'a154be20-db9c-4678-8ab7-66f6cc099a59';
const location = (r: Response) => new URL(r.headers.get('location')!);

/** A second member of the sample tenant. */
async function addUser(s: Sample, nick: string): Promise<Sample> {
  const upn = `${nick}@contoso.com`;
  const u = await js(await home(s.t, 'POST', '/users', { body: { displayName: nick, userPrincipalName: upn, accountEnabled: true, mailNickname: nick, passwordProfile: { password: s.password } } }));
  return { ...s, upn, userId: u.id };
}

async function grants(s: Sample): Promise<Any[]> {
  return (await js(await home(s.t, 'GET', '/oauth2PermissionGrants'))).value;
}

async function tokensFor(s: Sample, r: Response): Promise<{ access_token: string; id_token?: string }> {
  expect(r.status).toBe(302);
  return (await (await redeem(s, location(r).searchParams.get('code')!)).json()) as { access_token: string; id_token?: string };
}

describe('consent on behalf of the organization', () => {
  it('lets a Global Administrator grant Directory.ReadWrite.All for everyone, after which another member gets it without a prompt', async () => {
    const s = await sample();
    const bob = await addUser(s, 'bob');
    await assignDirectoryRole(s.t, s.userId, ROLE.globalAdministrator);
    const page = await submitPassword(s, authorizeUrl(s, 'openid Directory.ReadWrite.All', await s256(VERIFIER)), s.password);
    const html = await page.text();
    expect(isConsentPage(html)).toBe(true);
    expect(html).toContain('Consent on behalf of your organization');
    expect(html).toContain('data-scope="Directory.ReadWrite.All" data-admin="true"');
    const adminTokens = await tokensFor(s, await answerConsent(new Response(html, { status: 200 }), { organization: true }));
    expect(decodeJwt(adminTokens.access_token).payload.wids).toEqual([ROLE.globalAdministrator, MEMBER_USER_TEMPLATE_ID]);
    const all = await grants(s);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ consentType: 'AllPrincipals', principalId: null, scope: 'openid Directory.ReadWrite.All' });

    const bobTokens = await tokensFor(bob, await submitPassword(bob, authorizeUrl(bob, 'openid Directory.ReadWrite.All', await s256(VERIFIER)), bob.password));
    const claims = decodeJwt(bobTokens.access_token).payload;
    expect(claims.scp).toBe('Directory.ReadWrite.All');
    expect(claims.wids).toEqual([MEMBER_USER_TEMPLATE_ID]);
  });

  it('records an administrator who does not tick the box as a Principal grant only', async () => {
    const s = await sample();
    const bob = await addUser(s, 'bob');
    await assignDirectoryRole(s.t, s.userId, ROLE.privilegedRoleAdministrator);
    await tokensFor(s, await answerConsent(await submitPassword(s, authorizeUrl(s, 'User.Read.All', await s256(VERIFIER)), s.password)));
    expect(await grants(s)).toMatchObject([{ consentType: 'Principal', principalId: s.userId, scope: 'User.Read.All' }]);
    const r = await submitPassword(bob, authorizeUrl(bob, 'User.Read.All', await s256(VERIFIER)), bob.password);
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('AADSTS90094');
  });
});

describe('admin consent endpoint (/{tenant}/v2.0/adminconsent)', () => {
  async function withStaticPermissions(s: Sample): Promise<void> {
    const app = (await js(await home(s.t, 'GET', `/applications?$filter=${q(`appId eq '${s.appId}'`)}`))).value[0];
    const patched = await home(s.t, 'PATCH', `/applications/${app.id}`, {
      body: { requiredResourceAccess: [{ resourceAppId: GRAPH_APP_ID, resourceAccess: [{ id: USER_READ_ALL_SCOPE, type: 'Scope' }] }] },
    });
    expect(patched.status).toBe(204);
  }

  const adminConsentUrl = (s: Sample, scope = 'https://graph.microsoft.com/.default') =>
    `/${s.t.tenantId}/v2.0/adminconsent?${new URLSearchParams({ client_id: s.appId, redirect_uri: s.redirectUri, scope, state: 'ac-1' })}`;

  async function signInAt(s: Sample, url: string): Promise<Response> {
    const { action, fields } = formFields(await (await raw('GET', url)).text());
    return form(action, { ...fields, username: s.upn, password: s.password });
  }

  it('grants the app its static permissions for the organization and returns admin_consent=True', async () => {
    const s = await sample();
    const bob = await addUser(s, 'bob');
    await withStaticPermissions(s);
    await assignDirectoryRole(s.t, s.userId, ROLE.globalAdministrator);
    const page = await signInAt(s, adminConsentUrl(s));
    const html = await page.text();
    expect(isConsentPage(html)).toBe(true);
    expect(html).toContain('data-scope="User.Read.All"');
    const { action, fields } = formFields(html);
    const r = await form(action, { ...fields, consent: 'accept' });
    expect(r.status).toBe(302);
    const loc = location(r);
    expect(loc.origin + loc.pathname).toBe(s.redirectUri);
    expect(Object.fromEntries(loc.searchParams)).toEqual({ admin_consent: 'True', tenant: s.t.tenantId, scope: 'https://graph.microsoft.com/User.Read.All', state: 'ac-1' });
    expect(await grants(s)).toMatchObject([{ consentType: 'AllPrincipals', principalId: null, scope: 'User.Read.All' }]);

    // `.default` for a member now means what the admin granted, with no prompt.
    const bobTokens = await tokensFor(bob, await submitPassword(bob, authorizeUrl(bob, 'https://graph.microsoft.com/.default', await s256(VERIFIER)), bob.password));
    expect(decodeJwt(bobTokens.access_token).payload.scp).toBe('User.Read.All');
  });

  it('sends a member back with access_denied (AADSTS90094) and grants nothing', async () => {
    const s = await sample();
    await withStaticPermissions(s);
    const r = await signInAt(s, adminConsentUrl(s));
    expect(r.status).toBe(302);
    const loc = location(r);
    expect(loc.searchParams.get('error')).toBe('access_denied');
    expect(loc.searchParams.get('error_description')).toContain('AADSTS90094');
    expect(loc.searchParams.get('state')).toBe('ac-1');
    expect(await grants(s)).toEqual([]);
  });

  it('shows errors for an unknown client or an unregistered redirect URI instead of redirecting', async () => {
    const s = await sample();
    const bad = await raw('GET', `/${s.t.tenantId}/v2.0/adminconsent?${new URLSearchParams({ client_id: s.appId, redirect_uri: 'https://evil.example/cb', scope: 'https://graph.microsoft.com/.default' })}`);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('location')).toBeNull();
    expect(await bad.text()).toContain('AADSTS50011');
    const unknown = await raw('GET', `/${s.t.tenantId}/v2.0/adminconsent?client_id=${crypto.randomUUID()}&redirect_uri=${q(s.redirectUri)}`);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('AADSTS700016');
  });
});

describe('wids claim', () => {
  it('carries the member-user template in Graph access tokens, and in ID tokens when the app asks for directory roles', async () => {
    const s = await sample();
    const code = location(await answerConsent(await submitPassword(s, authorizeUrl(s, 'openid User.Read', await s256(VERIFIER)), s.password))).searchParams.get('code')!;
    const t1 = (await (await redeem(s, code)).json()) as { access_token: string; id_token: string };
    expect(decodeJwt(t1.access_token).payload.wids).toEqual([MEMBER_USER_TEMPLATE_ID]);
    expect(decodeJwt(t1.id_token).payload.wids).toBeUndefined();

    const app = (await js(await home(s.t, 'GET', `/applications?$filter=${q(`appId eq '${s.appId}'`)}`))).value[0];
    expect((await home(s.t, 'PATCH', `/applications/${app.id}`, { body: { groupMembershipClaims: 'DirectoryRole' } })).status).toBe(204);
    await assignDirectoryRole(s.t, s.userId, ROLE.userAdministrator);
    const t2 = await tokensFor(s, await submitPassword(s, authorizeUrl(s, 'openid User.Read', await s256(VERIFIER)), s.password));
    expect(decodeJwt(t2.id_token!).payload.wids).toEqual([ROLE.userAdministrator, MEMBER_USER_TEMPLATE_ID]);
  });
});

describe('admin consent routing', () => {
  it('is served only at /{tenant}/v2.0/adminconsent, not under /oauth2/v2.0/', async () => {
    const s = await sample();
    const q1 = new URLSearchParams({ client_id: s.appId, redirect_uri: s.redirectUri, scope: 'https://graph.microsoft.com/User.Read.All' });
    expect((await raw('GET', `/${s.t.tenantId}/v2.0/adminconsent?${q1}`)).status).toBe(200);
    expect((await raw('GET', `/${s.t.tenantId}/oauth2/v2.0/adminconsent?${q1}`)).status).toBe(400);
    // `.default` for an app that declares no delegated permissions has nothing to consent to.
    const none = await raw('GET', `/${s.t.tenantId}/v2.0/adminconsent?${new URLSearchParams({ client_id: s.appId, redirect_uri: s.redirectUri, scope: 'https://graph.microsoft.com/.default', state: 'z' })}`);
    expect(none.status).toBe(302);
    expect(Object.fromEntries(location(none).searchParams)).toMatchObject({ error: 'invalid_scope', state: 'z' });
  });
});
