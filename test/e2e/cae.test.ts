import * as client from 'openid-client';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { baseUrl, operatorKey } from './service.js';
import { fixture, signInViaForm, type Fixture } from './token-fixtures.js';
import { until } from './receiver.js';

const CP1 = JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] } } });
const SCOPE = 'openid profile offline_access User.Read';

async function operator(f: Fixture, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${baseUrl()}/v1.0${path}`, {
    method, headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': f.tenant.tenantId, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

const me = (token: string) => fetch(`${baseUrl()}/v1.0/me`, { headers: { authorization: `Bearer ${token}` } });
const lifetime = (jwt: string) => Number(decodeJwt(jwt).exp) - Number(decodeJwt(jwt).iat);

/** openid-client: authorization code + PKCE through the sign-in form, with the `claims` parameter when given. */
async function signIn(config: client.Configuration, f: Fixture, password: string, claims?: string) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: f.redirectUri, scope: SCOPE, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    ...(claims !== undefined ? { claims } : {}),
  });
  const callback = await signInViaForm(url, f.upn, password);
  return client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier });
}

/** Waits for Graph to refuse the token (the edge pulls the event within its poll interval); returns the last answer. */
const refused = (token: string) => until(() => me(token), (r) => r.status === 401);

describe('continuous access evaluation with openid-client and MSAL', () => {
  it('a CAE-capable client gets a long-lived token that Graph challenges after each critical event; its refresh token fails', async () => {
    const f = await fixture();
    const config = await client.discovery(new URL(`${baseUrl()}/${f.tenant.tenantId}/v2.0`), f.appId, undefined, client.None());
    const plain = await signIn(config, f, f.password);
    expect(lifetime(plain.access_token)).toBe(3600);

    // revokeSignInSessions
    let t = await signIn(config, f, f.password, CP1);
    expect(t.expires_in).toBe(86_400);
    expect((await me(t.access_token)).status).toBe(200);
    expect((await operator(f, 'POST', `/users/${(decodeJwt(t.access_token).oid as string)}/revokeSignInSessions`)).status).toBe(200);
    let r = await refused(t.access_token);
    expect(r.status).toBe(401);
    const challenge = r.headers.get('www-authenticate')!;
    expect(challenge).toMatch(new RegExp(`^Bearer authorization_uri="${baseUrl()}/${f.tenant.tenantId}/oauth2/v2\\.0/authorize", error="insufficient_claims", claims="[A-Za-z0-9+/=]+"$`));
    const asked = JSON.parse(Buffer.from(/claims="([^"]+)"/.exec(challenge)![1]!, 'base64').toString()) as { access_token: { nbf: { essential: boolean; value: string } } };
    expect(asked.access_token.nbf.essential).toBe(true);
    await expect(client.refreshTokenGrant(config, t.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', cause: { error_codes: [50173] } });
    // The challenge replayed as the claims parameter (from its nbf second on) gets a token Graph accepts.
    while (Date.now() < Number(asked.access_token.nbf.value) * 1000) await new Promise((done) => setTimeout(done, 50));
    t = await signIn(config, f, f.password, JSON.stringify({ access_token: { ...asked.access_token, xms_cc: { values: ['cp1'] } } }));
    expect(Number(decodeJwt(t.access_token).nbf)).toBeGreaterThanOrEqual(Number(asked.access_token.nbf.value));
    expect((await me(t.access_token)).status).toBe(200);

    // Password reset by an administrator
    const userId = decodeJwt(t.access_token).oid as string;
    expect((await operator(f, 'PATCH', `/users/${userId}`, { passwordProfile: { password: 'Another-Passw0rd!' } })).status).toBe(204);
    r = await refused(t.access_token);
    expect(r.headers.get('www-authenticate')).toContain('error="insufficient_claims"');
    await expect(client.refreshTokenGrant(config, t.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', cause: { error_codes: [50133] } });

    // Account disabled (signing in from the second after the reset: a token of that second counts as before it)
    await new Promise((done) => setTimeout(done, 1000));
    t = await signIn(config, f, 'Another-Passw0rd!', CP1);
    expect((await me(t.access_token)).status).toBe(200);
    expect((await operator(f, 'PATCH', `/users/${userId}`, { accountEnabled: false })).status).toBe(204);
    r = await refused(t.access_token);
    expect(r.headers.get('www-authenticate')).toContain('error="insufficient_claims"');
    await expect(client.refreshTokenGrant(config, t.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', cause: { error_codes: [50057] } });
    // The non-capable token of the same user gets a plain 401.
    const p = await refused(plain.access_token);
    expect(p.headers.get('www-authenticate')).toBe('Bearer realm="tessera"');
    expect(((await p.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
  });

  it('MSAL with clientCapabilities gets a long-lived app token; a removed client secret stops issuing and its tokens stop working', async () => {
    const f = await fixture();
    const app = (await (await operator(f, 'POST', '/applications', { displayName: 'CAE daemon' })).json()) as { id: string; appId: string };
    const sp = (await (await operator(f, 'POST', '/servicePrincipals', { appId: app.appId })).json()) as { id: string };
    const graphSp = ((await (await operator(f, 'GET', `/servicePrincipals?$filter=${encodeURIComponent("appId eq '00000003-0000-0000-c000-000000000000'")}`)).json()) as { value: Array<{ id: string }> }).value[0]!.id;
    // User.Read.All (application permission) on Graph.
    expect((await operator(f, 'POST', `/servicePrincipals/${sp.id}/appRoleAssignments`, { principalId: sp.id, resourceId: graphSp, appRoleId: 'df021288-bdef-4463-88db-98f22de89214' })).status).toBe(201);
    const secret = (await (await operator(f, 'POST', `/applications/${app.id}/addPassword`, {})).json()) as { keyId: string; secretText: string };
    const auth = { clientId: app.appId, clientSecret: secret.secretText, authority: `${baseUrl()}/${f.tenant.tenantId}`, knownAuthorities: [new URL(baseUrl()).host] };
    const capable = new ConfidentialClientApplication({ auth: { ...auth, clientCapabilities: ['cp1'] } });
    const result = await capable.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'], skipCache: true });
    const token = result!.accessToken;
    expect(decodeJwt(token).xms_cc).toEqual(['cp1']);
    expect(lifetime(token)).toBe(86_400);
    const users = () => fetch(`${baseUrl()}/v1.0/users`, { headers: { authorization: `Bearer ${token}` } });
    expect((await users()).status).toBe(200);
    expect((await operator(f, 'POST', `/applications/${app.id}/removePassword`, { keyId: secret.keyId })).status).toBe(204);
    const r = await until(users, (x) => x.status === 401);
    expect(r.headers.get('www-authenticate')).toContain('error="insufficient_claims"');
    const again = new ConfidentialClientApplication({ auth });
    await expect(again.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'], skipCache: true })).rejects.toMatchObject({ errorCode: 'invalid_client' });
  });
});
