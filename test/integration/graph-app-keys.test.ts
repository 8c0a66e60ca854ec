import { describe, expect, it } from 'vitest';
import { graphAs, newTokenTenant, type TokenTenant } from './token-helpers.js';
import { graph, js } from './helpers.js';
import { TEST_CERT2_BASE64, TEST_CERT_BASE64, TEST_KEY2_PEM, TEST_KEY_PEM } from './cert-fixture.js';
import { cert, proofFor, thumb, tokenWith } from './key-helpers.js';

async function appWithFirstKey(t: TokenTenant): Promise<{ id: string; appId: string }> {
  const r = await graph(t, 'POST', '/applications', { body: { displayName: 'Key roller' }, region: t.homeRegion });
  const app = (await r.json()) as { id: string; appId: string };
  expect((await graph(t, 'PATCH', `/applications/${app.id}`, { body: { keyCredentials: [cert(TEST_CERT_BASE64)] }, region: t.homeRegion })).status).toBe(204);
  return app;
}

describe('keyCredential dates', () => {
  it('default to the certificate\'s own validity period, and may not exceed it', async () => {
    const t = await newTokenTenant();
    const app = await appWithFirstKey(t);
    const got = await js(await graph(t, 'GET', `/applications/${app.id}`, { region: t.homeRegion }));
    // openssl x509 -dates of the fixture: Jan 1 00:00:00 2020 GMT / Dec 31 00:00:00 2045 GMT
    expect(got.keyCredentials[0]).toMatchObject({ startDateTime: '2020-01-01T00:00:00.000Z', endDateTime: '2045-12-31T00:00:00.000Z' });
    const beyond = await graph(t, 'PATCH', `/applications/${app.id}`, { body: { keyCredentials: [{ ...cert(TEST_CERT_BASE64), endDateTime: '2050-01-01T00:00:00Z' }] }, region: t.homeRegion });
    expect(beyond.status).toBe(400);
    expect((await js(beyond)).error.code).toBe('Request_BadRequest');
  });
});

describe('POST /applications/{id}/addKey and removeKey', () => {
  it('rolls to a new certificate proven by the current one, then removes the old one proven by the new', async () => {
    const t = await newTokenTenant();
    const app = await appWithFirstKey(t);
    const [x5t1, x5t2] = [await thumb(TEST_CERT_BASE64), await thumb(TEST_CERT2_BASE64)];
    expect((await tokenWith(t, app.appId, TEST_KEY2_PEM, x5t2)).error).toBe('invalid_client');

    const added = await graph(t, 'POST', `/applications/${app.id}/addKey`, {
      body: { keyCredential: { ...cert(TEST_CERT2_BASE64), displayName: 'CN=tessera-test-2' }, passwordCredential: null, proof: await proofFor(app.id, TEST_KEY_PEM, x5t1) },
      region: t.homeRegion,
    });
    expect(added.status).toBe(200);
    const kc = await js(added);
    expect(kc['@odata.context']).toMatch(/\$metadata#microsoft\.graph\.keyCredential$/);
    expect(kc).toMatchObject({ type: 'AsymmetricX509Cert', usage: 'Verify', key: null, displayName: 'CN=tessera-test-2' });
    expect((await tokenWith(t, app.appId, TEST_KEY2_PEM, x5t2)).access_token).toBeTruthy();
    const listed = await js(await graph(t, 'GET', `/applications/${app.id}`, { region: t.homeRegion }));
    expect(listed.keyCredentials).toHaveLength(2);
    const oldKeyId = listed.keyCredentials.find((k: { keyId: string }) => k.keyId !== kc.keyId).keyId;

    const removed = await graph(t, 'POST', `/applications/${app.id}/removeKey`, { body: { keyId: oldKeyId, proof: await proofFor(app.id, TEST_KEY2_PEM, x5t2) }, region: t.homeRegion });
    expect(removed.status).toBe(204);
    expect((await tokenWith(t, app.appId, TEST_KEY_PEM, x5t1)).error).toBe('invalid_client');
    expect((await tokenWith(t, app.appId, TEST_KEY2_PEM, x5t2)).access_token).toBeTruthy();
    // The removed key can no longer prove anything.
    const again = await graph(t, 'POST', `/applications/${app.id}/addKey`, { body: { keyCredential: cert(TEST_CERT_BASE64), passwordCredential: null, proof: await proofFor(app.id, TEST_KEY_PEM, x5t1) }, region: t.homeRegion });
    expect(again.status).toBe(401);
  });

  it('answers a missing or foreign proof with 401 Authentication_MissingOrMalformed and changes nothing', async () => {
    const t = await newTokenTenant();
    const app = await appWithFirstKey(t);
    const x5t2 = await thumb(TEST_CERT2_BASE64);
    const other = await appWithFirstKey(t);
    for (const proof of [await proofFor(app.id, TEST_KEY2_PEM, x5t2), await proofFor(other.id, TEST_KEY_PEM, await thumb(TEST_CERT_BASE64)), 'not-a-jwt']) {
      const r = await graph(t, 'POST', `/applications/${app.id}/addKey`, { body: { keyCredential: cert(TEST_CERT2_BASE64), passwordCredential: null, proof }, region: t.homeRegion });
      expect(r.status).toBe(401);
      expect((await js(r)).error.code).toBe('Authentication_MissingOrMalformed');
    }
    const noProof = await graph(t, 'POST', `/applications/${app.id}/addKey`, { body: { keyCredential: cert(TEST_CERT2_BASE64), passwordCredential: null }, region: t.homeRegion });
    expect(noProof.status).toBe(400);
    const got = await js(await graph(t, 'GET', `/applications/${app.id}`, { region: t.homeRegion }));
    expect(got.keyCredentials).toHaveLength(1);
  });

  it('an application without a current certificate cannot use addKey (its first key comes through PATCH)', async () => {
    const t = await newTokenTenant();
    const r = await graph(t, 'POST', '/applications', { body: { displayName: 'No keys' }, region: t.homeRegion });
    const app = (await r.json()) as { id: string };
    const res = await graph(t, 'POST', `/applications/${app.id}/addKey`, {
      body: { keyCredential: cert(TEST_CERT_BASE64), passwordCredential: null, proof: await proofFor(app.id, TEST_KEY_PEM, await thumb(TEST_CERT_BASE64)) }, region: t.homeRegion,
    });
    expect(res.status).toBe(401);
  });

  it('an application with no Graph permission rolls its own keys, and only its own (Graph: "roll its own keys")', async () => {
    const t = await newTokenTenant();
    const app = await appWithFirstKey(t);
    const other = await appWithFirstKey(t);
    const [x5t1, x5t2] = [await thumb(TEST_CERT_BASE64), await thumb(TEST_CERT2_BASE64)];
    // The app's own token for Graph: it holds no Graph app role, so no `roles`.
    const own = await tokenWith(t, app.appId, TEST_KEY_PEM, x5t1);
    expect(own.access_token).toBeTruthy();
    const token = own.access_token!;
    expect((await graphAs(token, 'GET', `/applications/${app.id}`)).status).toBe(403);
    const foreign = await graphAs(token, 'POST', `/applications/${other.id}/addKey`, { keyCredential: cert(TEST_CERT2_BASE64), passwordCredential: null, proof: await proofFor(other.id, TEST_KEY_PEM, x5t1) });
    expect(foreign.status).toBe(403);
    expect((await js(foreign)).error.code).toBe('Authorization_RequestDenied');
    const rolled = await graphAs(token, 'POST', `/applications/${app.id}/addKey`, { keyCredential: cert(TEST_CERT2_BASE64), passwordCredential: null, proof: await proofFor(app.id, TEST_KEY_PEM, x5t1) });
    expect(rolled.status).toBe(200);
    expect((await tokenWith(t, app.appId, TEST_KEY2_PEM, x5t2)).access_token).toBeTruthy();
  });
});
