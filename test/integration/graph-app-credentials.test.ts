import { describe, expect, it } from 'vitest';
import { importPKCS8, SignJWT } from 'jose';
import { basic, BASE, form, newTokenTenant, type TokenTenant } from './token-helpers.js';
import { graph, js } from './helpers.js';
import { TEST_CERT_BASE64, TEST_KEY_PEM } from './cert-fixture.js';

async function newApp(t: TokenTenant, body: Record<string, unknown> = {}): Promise<{ id: string; appId: string }> {
  const r = await graph(t, 'POST', '/applications', { body: { displayName: 'Orders worker', ...body }, region: t.homeRegion });
  expect(r.status).toBe(201);
  return (await r.json()) as { id: string; appId: string };
}

const tokenFor = (t: TokenTenant, appId: string, secret: string) =>
  form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' }, { authorization: basic(appId, secret) });

describe('POST /applications/{id}/addPassword', () => {
  it('returns the secret once, in Graph passwordCredential shape, and lists only its metadata', async () => {
    const t = await newTokenTenant();
    const app = await newApp(t);
    const r = await graph(t, 'POST', `/applications/${app.id}/addPassword`, { body: { passwordCredential: { displayName: 'ci' } }, region: t.homeRegion });
    expect(r.status).toBe(200);
    const pc = await js(r);
    expect(pc['@odata.context']).toMatch(/\$metadata#microsoft\.graph\.passwordCredential$/);
    expect(pc).toMatchObject({ displayName: 'ci', customKeyIdentifier: null, hint: pc.secretText.slice(0, 3) });
    expect(pc.secretText.length).toBeGreaterThanOrEqual(40);
    expect(Date.parse(pc.endDateTime) - Date.parse(pc.startDateTime)).toBe(2 * 365 * 86_400_000);
    const got = await js(await graph(t, 'GET', `/applications/${app.id}`, { region: t.homeRegion }));
    expect(got.passwordCredentials).toEqual([{ customKeyIdentifier: null, displayName: 'ci', endDateTime: pc.endDateTime, hint: pc.hint, keyId: pc.keyId, secretText: null, startDateTime: pc.startDateTime }]);
  });

  it('the secret authenticates client_credentials until removePassword removes it', async () => {
    const t = await newTokenTenant();
    const app = await newApp(t);
    const pc = await js(await graph(t, 'POST', `/applications/${app.id}/addPassword`, { body: {}, region: t.homeRegion }));
    // The app holds no app role on Graph: a token without roles is refused by Graph itself, but the secret is good.
    const first = await tokenFor(t, app.appId, pc.secretText);
    expect((await js(first)).error).not.toBe('invalid_client');
    expect((await js(await tokenFor(t, app.appId, 'not-the-secret'))).error).toBe('invalid_client');
    const removed = await graph(t, 'POST', `/applications/${app.id}/removePassword`, { body: { keyId: pc.keyId }, region: t.homeRegion });
    expect(removed.status).toBe(204);
    expect((await js(await tokenFor(t, app.appId, pc.secretText))).error).toBe('invalid_client');
    expect((await js(await graph(t, 'GET', `/applications/${app.id}`, { region: t.homeRegion }))).passwordCredentials).toEqual([]);
  });

  it('a retry with the same client-request-id shows the same secret, not a second one', async () => {
    const t = await newTokenTenant();
    const app = await newApp(t);
    const headers = { 'client-request-id': `retry-${crypto.randomUUID()}` };
    const a = await js(await graph(t, 'POST', `/applications/${app.id}/addPassword`, { body: {}, headers, region: t.homeRegion }));
    const b = await js(await graph(t, 'POST', `/applications/${app.id}/addPassword`, { body: {}, headers, region: t.homeRegion }));
    expect(b.secretText).toBe(a.secretText);
    expect(b.keyId).toBe(a.keyId);
    expect((await js(await graph(t, 'GET', `/applications/${app.id}`, { region: t.homeRegion }))).passwordCredentials).toHaveLength(1);
  });

  it('refuses a body that tries to set the secret, unknown keys and unknown applications with Graph errors', async () => {
    const t = await newTokenTenant();
    const app = await newApp(t);
    const set = await graph(t, 'POST', `/applications/${app.id}/addPassword`, { body: { passwordCredential: { secretText: 'chosen-by-me' } }, region: t.homeRegion });
    expect(set.status).toBe(400);
    expect((await js(set)).error.code).toBe('Request_BadRequest');
    const missing = await graph(t, 'POST', `/applications/${crypto.randomUUID()}/addPassword`, { body: {}, region: t.homeRegion });
    expect(missing.status).toBe(404);
    const unknownKey = await graph(t, 'POST', `/applications/${app.id}/removePassword`, { body: { keyId: crypto.randomUUID() }, region: t.homeRegion });
    expect(unknownKey.status).toBe(404);
    const badKey = await graph(t, 'POST', `/applications/${app.id}/removePassword`, { body: { keyId: 'x' }, region: t.homeRegion });
    expect(badKey.status).toBe(400);
    const patch = await graph(t, 'PATCH', `/applications/${app.id}`, { body: { passwordCredentials: [] }, region: t.homeRegion });
    expect(patch.status).toBe(400);
  });
});

describe('PATCH /applications/{id} keyCredentials', () => {
  it('a certificate set through Graph authenticates private_key_jwt client assertions (x5t), and replacing the keys removes it', async () => {
    const t = await newTokenTenant();
    const app = await newApp(t);
    const patched = await graph(t, 'PATCH', `/applications/${app.id}`, {
      body: { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: TEST_CERT_BASE64, displayName: 'CN=tessera-test' }] }, region: t.homeRegion,
    });
    expect(patched.status).toBe(204);
    const got = await js(await graph(t, 'GET', `/applications/${app.id}`, { region: t.homeRegion }));
    expect(got.keyCredentials).toHaveLength(1);
    const kc = got.keyCredentials[0];
    expect(kc).toMatchObject({ type: 'AsymmetricX509Cert', usage: 'Verify', key: null, displayName: 'CN=tessera-test' });
    const der = Uint8Array.from(atob(TEST_CERT_BASE64), (c) => c.charCodeAt(0));
    const sha1 = new Uint8Array(await crypto.subtle.digest('SHA-1', der));
    expect(kc.customKeyIdentifier).toBe([...sha1].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase());

    const x5t = btoa(String.fromCharCode(...sha1)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const endpoint = `${BASE}/${t.tenantId}/oauth2/v2.0/token`;
    const assertion = async () => new SignJWT({ jti: crypto.randomUUID() }).setProtectedHeader({ alg: 'RS256', x5t })
      .setIssuer(app.appId).setSubject(app.appId).setAudience(endpoint).setIssuedAt().setExpirationTime('5m').sign(await importPKCS8(TEST_KEY_PEM, 'RS256'));
    const withAssertion = async () => js(await form(`/${t.tenantId}/oauth2/v2.0/token`, {
      grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default', client_id: app.appId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion(),
    }));
    const ok = await withAssertion();
    expect(ok.access_token).toBeTruthy();
    expect(ok.error).toBeUndefined();

    const cleared = await graph(t, 'PATCH', `/applications/${app.id}`, { body: { keyCredentials: [] }, region: t.homeRegion });
    expect(cleared.status).toBe(204);
    expect((await withAssertion()).error).toBe('invalid_client');
  });

  it('refuses a key that is not a certificate, and a keyId it does not know, with 400', async () => {
    const t = await newTokenTenant();
    const app = await newApp(t);
    const notCert = await graph(t, 'PATCH', `/applications/${app.id}`, { body: { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: btoa('not a certificate') }] }, region: t.homeRegion });
    expect(notCert.status).toBe(400);
    expect((await js(notCert)).error.code).toBe('Request_BadRequest');
    const unknown = await graph(t, 'PATCH', `/applications/${app.id}`, { body: { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', keyId: crypto.randomUUID() }] }, region: t.homeRegion });
    expect(unknown.status).toBe(400);
  });
});
