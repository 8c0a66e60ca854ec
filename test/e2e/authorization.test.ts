/**
 * Issue 9 end to end against `wrangler dev --local-protocol https`, with openid-client and the
 * HTML sign-in pages: a member cannot obtain or use directory-wide rights without an
 * administrator's consent and a directory role; passwords set through odd path spellings are
 * hashed (the user can sign in); a sign-in POST without the page's anti-forgery cookie is refused.
 */
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { ROLE } from '../../core/directory/role-definitions.js';
import { baseUrl, operatorKey } from './service.js';
import { cookiesFrom, fixture, parseForm, type Fixture } from './token-fixtures.js';

const SCOPE = 'openid Directory.ReadWrite.All';

async function operator(t: Fixture, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${baseUrl()}${path}`, {
    method, headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': t.tenant.tenantId, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

interface Flow {
  config: client.Configuration;
  verifier: string;
  url: URL;
}

async function flow(f: Fixture, extra: Record<string, string> = {}): Promise<Flow> {
  const config = await client.discovery(new URL(`${baseUrl()}/${f.tenant.tenantId}/v2.0`), f.appId, undefined, client.None());
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: f.redirectUri, scope: SCOPE, state: 'st', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  return { config, verifier, url };
}

/** Password sign-in like a browser; returns the response after the password form (a page or a redirect) and the cookie. */
async function signIn(fl: Flow, username: string, password: string): Promise<{ r: Response; cookie: string }> {
  const page = await fetch(fl.url);
  const cookie = cookiesFrom(page);
  const { action, fields } = parseForm(await page.text(), fl.url.toString());
  const r = await fetch(action, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams({ ...fields, username, password }) });
  return { r, cookie };
}

async function accessToken(fl: Flow, r: Response): Promise<string> {
  expect(r.status).toBe(302);
  const tokens = await client.authorizationCodeGrant(fl.config, new URL(r.headers.get('location')!), { pkceCodeVerifier: fl.verifier, expectedState: 'st' });
  return tokens.access_token;
}

const createUser = (token: string, name: string) =>
  fetch(`${baseUrl()}/v1.0/users`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ displayName: name, userPrincipalName: `${name}@fabrikam.com` }) });

describe('delegated authorization: consent and directory roles (issue 9)', () => {
  it('takes an admin\'s consent and a directory role for a member to create users', async () => {
    const f = await fixture();
    const megan = ((await (await operator(f, 'GET', `/v1.0/users/${f.upn}`)).json()) as { id: string }).id;

    // A member asking for an admin-only scope: approval required, no code; a silent request
    // (prompt=none) gets login_required at once (no SSO session), never the sign-in form.
    let fl = await flow(f);
    const asked = await signIn(fl, f.upn, f.password);
    expect(asked.r.status).toBe(403);
    expect(await asked.r.text()).toContain('AADSTS90094');
    fl = await flow(f, { prompt: 'none' });
    const silent = await fetch(fl.url, { redirect: 'manual' });
    expect(silent.status).toBe(302);
    expect(new URL(silent.headers.get('location')!).searchParams.get('error')).toBe('login_required');

    // A Global Administrator consents for the organization and works as before.
    const boss = { upn: 'boss@fabrikam.com', password: 'Boss-Passw0rd!' };
    const created = (await (await operator(f, 'POST', '/v1.0//users/', { displayName: 'Boss', userPrincipalName: boss.upn, passwordProfile: { password: boss.password } })).json()) as { id: string };
    expect((await operator(f, 'POST', '/v1.0/roleManagement/directory/roleAssignments', { principalId: created.id, roleDefinitionId: ROLE.globalAdministrator, directoryScopeId: '/' })).status).toBe(201);
    fl = await flow(f);
    // Boss was created through '//users/': the password was hashed, so Boss can sign in.
    const consentPage = await signIn(fl, boss.upn, boss.password);
    const html = await consentPage.r.text();
    expect(html).toContain('Consent on behalf of your organization');
    const { action, fields } = parseForm(html, fl.url.toString());
    const cookie = cookiesFrom(consentPage.r) || consentPage.cookie;
    const consented = await fetch(action, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams({ ...fields, consent: 'accept', consent_org: 'true' }) });
    const bossToken = await accessToken(fl, consented);
    expect((await createUser(bossToken, 'by-boss')).status).toBe(201);

    // The member now gets the scope without a prompt, but the token still cannot create users…
    fl = await flow(f);
    const memberToken = await accessToken(fl, (await signIn(fl, f.upn, f.password)).r);
    const refused = await createUser(memberToken, 'by-megan');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('Authorization_RequestDenied');

    // …until the member is a User Administrator.
    expect((await operator(f, 'POST', '/v1.0/roleManagement/directory/roleAssignments', { principalId: megan, roleDefinitionId: ROLE.userAdministrator, directoryScopeId: '/' })).status).toBe(201);
    fl = await flow(f);
    const adminToken = await accessToken(fl, (await signIn(fl, f.upn, f.password)).r);
    expect((await createUser(adminToken, 'by-megan')).status).toBe(201);
  });

  it('refuses a sign-in POST that does not carry the page\'s anti-forgery cookie (login CSRF)', async () => {
    const f = await fixture();
    const fl = await flow(f);
    const page = await fetch(fl.url);
    const { action, fields } = parseForm(await page.text(), fl.url.toString());
    const forged = await fetch(action, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, username: f.upn, password: f.password }) });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('location')).toBeNull();
  });
});
