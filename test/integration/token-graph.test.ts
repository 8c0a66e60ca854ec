import { describe, expect, it } from 'vitest';
import { appToken, basic, BASE, call, codeFor, decodeJwt, form, graphAs, newTokenTenant, raw, redeem, sample } from './token-helpers.js';

describe('Graph API with bearer access tokens', () => {
  it('accepts the admin app token for reads and writes', async () => {
    const t = await newTokenTenant();
    const token = await appToken(t);
    const created = await graphAs(token, 'POST', '/users', { displayName: 'Bo', userPrincipalName: 'bo@contoso.com', accountEnabled: true, mailNickname: 'bo' });
    expect(created.status).toBe(201);
    expect((await graphAs(token, 'GET', '/users')).status).toBe(200);
  });

  it('rejects a token for another audience, a tampered tenant, and a token used against another tenant with 401', async () => {
    const s = await sample();
    const code = await codeFor(s, 'api://orders/Orders.Read openid');
    const r = await redeem(s, code);
    expect(r.status).toBe(200);
    const apiToken = ((await r.json()) as { access_token: string }).access_token;
    // The API asks for no token version: v1, whose audience is the identifier URI as requested.
    expect(decodeJwt(apiToken).payload).toMatchObject({ aud: 'api://orders', ver: '1.0', iss: `${BASE}/${s.t.tenantId}/`, upn: s.upn, unique_name: s.upn });
    const wrongAud = await graphAs(apiToken, 'GET', '/users');
    expect(wrongAud.status).toBe(401);
    expect(((await wrongAud.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');

    const other = await newTokenTenant();
    const good = await appToken(s.t);
    const [h, p, sig] = good.split('.');
    const payload = JSON.parse(atob(p!.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    payload.tid = other.tenantId;
    const forged = `${h}.${btoa(JSON.stringify(payload)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}.${sig}`;
    expect((await graphAs(forged, 'GET', '/users')).status).toBe(401);
    const cross = await call('GET', '/v1.0/users', { headers: { authorization: `Bearer ${good}`, 'x-tessera-tenant': other.tenantId } });
    expect(cross.status).toBe(401);
  });

  it('answers 403 Authorization_RequestDenied when the token lacks the permission', async () => {
    const s = await sample();
    const code = await codeFor(s, 'User.Read openid');
    const token = ((await (await redeem(s, code)).json()) as { access_token: string }).access_token;
    const r = await graphAs(token, 'GET', '/users');
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('Authorization_RequestDenied');
  });
});

describe('signing key rotation and revocation', () => {
  it('keeps validating tokens of the previous key across the overlap window, and drops a revoked key at once', async () => {
    const t = await newTokenTenant();
    const before = await appToken(t);
    const oldKid = decodeJwt(before).header.kid as string;
    const rotated = await call('POST', `/admin/tenants/${t.tenantId}/keys/rotate`, { body: {} });
    expect(rotated.status).toBe(200);
    const after = await appToken(t);
    const newKid = decodeJwt(after).header.kid as string;
    expect(newKid).not.toBe(oldKid);
    const jwks = (await (await raw('GET', `/${t.tenantId}/discovery/v2.0/keys`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    expect((await graphAs(before, 'GET', '/users')).status).toBe(200);
    expect((await graphAs(after, 'GET', '/users')).status).toBe(200);

    const revoked = await call('POST', `/admin/tenants/${t.tenantId}/keys/${oldKid}/revoke`);
    expect(revoked.status).toBe(200);
    const jwks2 = (await (await raw('GET', `/${t.tenantId}/discovery/v2.0/keys`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks2.keys.map((k) => k.kid)).toEqual([newKid]);
    expect((await graphAs(before, 'GET', '/users')).status).toBe(401);
    expect((await graphAs(after, 'GET', '/users')).status).toBe(200);

    // Revoking the active key: a replacement signs immediately.
    await call('POST', `/admin/tenants/${t.tenantId}/keys/${newKid}/revoke`);
    const third = await appToken(t);
    expect(decodeJwt(third).header.kid).not.toBe(newKid);
    expect((await graphAs(after, 'GET', '/users')).status).toBe(401);
  });
});

describe('private_key_jwt', () => {
  it('authenticates with a signed assertion and rejects a replayed jti', async () => {
    const t = await newTokenTenant();
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
    const reg = await call('POST', `/admin/tenants/${t.tenantId}/credentials`, { body: { appId: t.adminClientId, addKey: { kid: 'k1', jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } } } });
    expect(reg.status).toBe(200);
    const { SignJWT } = await import('jose');
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(t.adminClientId).setSubject(t.adminClientId)
      .setAudience(`http://127.0.0.1:8787/${t.tenantId}/oauth2/v2.0/token`).setIssuedAt(now).setExpirationTime(now + 300).sign(pair.privateKey);
    const fields = { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
    const first = await form(`/${t.tenantId}/oauth2/v2.0/token`, fields);
    expect(first.status).toBe(200);
    const replay = await form(`/${t.tenantId}/oauth2/v2.0/token`, fields);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string; error_codes: number[] }).error_codes).toEqual([50012]);
    // Unused import guard.
    expect(basic('a', 'b')).toMatch(/^Basic /);
  });
});

describe('operator credentials endpoint: Graph app roles', () => {
  it('grants any Graph app role by its value and refuses an unknown one', async () => {
    const t = await newTokenTenant();
    const app = (await (await call('POST', '/v1.0/applications', { body: { displayName: 'Reader' }, headers: { 'x-tessera-tenant': t.tenantId } })).json()) as { appId: string };
    const bad = await call('POST', `/admin/tenants/${t.tenantId}/credentials`, { body: { appId: app.appId, grantGraphRoles: ['Nope.All'] } });
    expect(bad.status).toBe(400);
    const cred = await call('POST', `/admin/tenants/${t.tenantId}/credentials`, { body: { appId: app.appId, addSecret: true, grantGraphRoles: ['User.Read.All', 'RoleManagement.Read.Directory'] } });
    expect(cred.status).toBe(200);
    const { secretText } = (await cred.json()) as { secretText: string };
    const r = await form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' }, { authorization: basic(app.appId, secretText) });
    expect(r.status).toBe(200);
    expect(decodeJwt(((await r.json()) as { access_token: string }).access_token).payload.roles).toEqual(['User.Read.All', 'RoleManagement.Read.Directory']);
  });
});
