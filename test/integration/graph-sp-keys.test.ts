import { describe, expect, it } from 'vitest';
import { graphAs, newTokenTenant, type TokenTenant } from './token-helpers.js';
import { graph, js } from './helpers.js';
import { TEST_CERT2_BASE64, TEST_CERT_BASE64, TEST_KEY2_PEM, TEST_KEY_PEM } from './cert-fixture.js';
import { cert, proofFor, thumb, tokenWith } from './key-helpers.js';

interface Sp {
  id: string;
  appId: string;
  appObjectId: string;
}

/** An application (no credentials of its own) and its service principal. */
async function servicePrincipal(t: TokenTenant): Promise<Sp> {
  const app = await js(await graph(t, 'POST', '/applications', { body: { displayName: 'SP key roller' }, region: t.homeRegion }));
  const sp = await js(await graph(t, 'POST', '/servicePrincipals', { body: { appId: app.appId }, region: t.homeRegion }));
  expect(sp.keyCredentials).toEqual([]);
  return { id: sp.id, appId: app.appId, appObjectId: app.id };
}

/** Graph: a service principal's first certificate comes through Update servicePrincipal. */
async function withFirstKey(t: TokenTenant): Promise<Sp> {
  const sp = await servicePrincipal(t);
  expect((await graph(t, 'PATCH', `/servicePrincipals/${sp.id}`, { body: { keyCredentials: [cert(TEST_CERT_BASE64)] }, region: t.homeRegion })).status).toBe(204);
  return sp;
}

describe('PATCH /servicePrincipals/{id} keyCredentials', () => {
  it('stores Graph metadata (never the key) and the certificate authenticates the appId, as in Entra', async () => {
    const t = await newTokenTenant();
    const sp = await servicePrincipal(t);
    const x5t1 = await thumb(TEST_CERT_BASE64);
    expect((await tokenWith(t, sp.appId, TEST_KEY_PEM, x5t1)).error).toBe('invalid_client');
    expect((await graph(t, 'PATCH', `/servicePrincipals/${sp.id}`, { body: { keyCredentials: [cert(TEST_CERT_BASE64)], notes: 'rolled' }, region: t.homeRegion })).status).toBe(204);
    const got = await js(await graph(t, 'GET', `/servicePrincipals/${sp.id}`, { region: t.homeRegion }));
    expect(got.notes).toBe('rolled');
    expect(got.keyCredentials).toHaveLength(1);
    expect(got.keyCredentials[0]).toMatchObject({ type: 'AsymmetricX509Cert', usage: 'Verify', key: null, startDateTime: '2020-01-01T00:00:00.000Z' });
    expect((await tokenWith(t, sp.appId, TEST_KEY_PEM, x5t1)).access_token).toBeTruthy();
    // The application itself still has no key: the credential is the service principal's.
    expect((await js(await graph(t, 'GET', `/applications/${sp.appObjectId}`, { region: t.homeRegion }))).keyCredentials).toEqual([]);
  });

  it('answers a certificate that does not parse with 400 and changes nothing', async () => {
    const t = await newTokenTenant();
    const sp = await servicePrincipal(t);
    const r = await graph(t, 'PATCH', `/servicePrincipals/${sp.id}`, { body: { keyCredentials: [cert('bm90IGEgY2VydA==')] }, region: t.homeRegion });
    expect(r.status).toBe(400);
    expect((await js(r)).error.code).toBe('Request_BadRequest');
    expect((await js(await graph(t, 'GET', `/servicePrincipals/${sp.id}`, { region: t.homeRegion }))).keyCredentials).toEqual([]);
  });

  it('a deleted service principal\'s certificate no longer authenticates', async () => {
    const t = await newTokenTenant();
    const sp = await withFirstKey(t);
    const x5t1 = await thumb(TEST_CERT_BASE64);
    expect((await tokenWith(t, sp.appId, TEST_KEY_PEM, x5t1)).access_token).toBeTruthy();
    expect((await graph(t, 'DELETE', `/servicePrincipals/${sp.id}`, { region: t.homeRegion })).status).toBe(204);
    expect((await tokenWith(t, sp.appId, TEST_KEY_PEM, x5t1)).error).toBe('invalid_client');
  });
});

describe('POST /servicePrincipals/{id}/addKey and removeKey', () => {
  it('rolls to a new certificate proven by the current one, then removes the old one proven by the new', async () => {
    const t = await newTokenTenant();
    const sp = await withFirstKey(t);
    const [x5t1, x5t2] = [await thumb(TEST_CERT_BASE64), await thumb(TEST_CERT2_BASE64)];
    expect((await tokenWith(t, sp.appId, TEST_KEY2_PEM, x5t2)).error).toBe('invalid_client');

    const added = await graph(t, 'POST', `/servicePrincipals/${sp.id}/addKey`, {
      body: { keyCredential: { ...cert(TEST_CERT2_BASE64), displayName: 'CN=tessera-test-2' }, passwordCredential: null, proof: await proofFor(sp.id, TEST_KEY_PEM, x5t1) },
      region: t.homeRegion,
    });
    expect(added.status).toBe(200);
    const kc = await js(added);
    expect(kc['@odata.context']).toMatch(/\$metadata#microsoft\.graph\.keyCredential$/);
    expect(kc).toMatchObject({ type: 'AsymmetricX509Cert', usage: 'Verify', key: null, displayName: 'CN=tessera-test-2' });
    expect((await tokenWith(t, sp.appId, TEST_KEY2_PEM, x5t2)).access_token).toBeTruthy();
    const listed = await js(await graph(t, 'GET', `/servicePrincipals/${sp.id}`, { region: t.homeRegion }));
    expect(listed.keyCredentials).toHaveLength(2);
    const oldKeyId = listed.keyCredentials.find((k: { keyId: string }) => k.keyId !== kc.keyId).keyId;

    const removed = await graph(t, 'POST', `/servicePrincipals/${sp.id}/removeKey`, { body: { keyId: oldKeyId, proof: await proofFor(sp.id, TEST_KEY2_PEM, x5t2) }, region: t.homeRegion });
    expect(removed.status).toBe(204);
    expect((await tokenWith(t, sp.appId, TEST_KEY_PEM, x5t1)).error).toBe('invalid_client');
    expect((await tokenWith(t, sp.appId, TEST_KEY2_PEM, x5t2)).access_token).toBeTruthy();
    // The removed key can no longer prove anything.
    const again = await graph(t, 'POST', `/servicePrincipals/${sp.id}/addKey`, { body: { keyCredential: cert(TEST_CERT_BASE64), passwordCredential: null, proof: await proofFor(sp.id, TEST_KEY_PEM, x5t1) }, region: t.homeRegion });
    expect(again.status).toBe(401);
  });

  it('answers a proof for another object, by another key or malformed with 401 Authentication_MissingOrMalformed, and changes nothing', async () => {
    const t = await newTokenTenant();
    const sp = await withFirstKey(t);
    const [x5t1, x5t2] = [await thumb(TEST_CERT_BASE64), await thumb(TEST_CERT2_BASE64)];
    // `iss` must be the service principal's id, not its application's.
    const proofs = [await proofFor(sp.appObjectId, TEST_KEY_PEM, x5t1), await proofFor(sp.id, TEST_KEY2_PEM, x5t2), 'not-a-jwt'];
    for (const proof of proofs) {
      const r = await graph(t, 'POST', `/servicePrincipals/${sp.id}/addKey`, { body: { keyCredential: cert(TEST_CERT2_BASE64), passwordCredential: null, proof }, region: t.homeRegion });
      expect(r.status).toBe(401);
      expect((await js(r)).error.code).toBe('Authentication_MissingOrMalformed');
    }
    const noProof = await graph(t, 'POST', `/servicePrincipals/${sp.id}/removeKey`, { body: { keyId: crypto.randomUUID() }, region: t.homeRegion });
    expect(noProof.status).toBe(400);
    expect((await js(await graph(t, 'GET', `/servicePrincipals/${sp.id}`, { region: t.homeRegion }))).keyCredentials).toHaveLength(1);
  });

  it('a service principal without a current certificate cannot use addKey (its first key comes through PATCH)', async () => {
    const t = await newTokenTenant();
    const sp = await servicePrincipal(t);
    const res = await graph(t, 'POST', `/servicePrincipals/${sp.id}/addKey`, {
      body: { keyCredential: cert(TEST_CERT_BASE64), passwordCredential: null, proof: await proofFor(sp.id, TEST_KEY_PEM, await thumb(TEST_CERT_BASE64)) }, region: t.homeRegion,
    });
    expect(res.status).toBe(401);
  });

  it('an app with no Graph permission rolls its own service principal\'s keys, and only those', async () => {
    const t = await newTokenTenant();
    const sp = await withFirstKey(t);
    const other = await withFirstKey(t);
    const [x5t1, x5t2] = [await thumb(TEST_CERT_BASE64), await thumb(TEST_CERT2_BASE64)];
    const own = await tokenWith(t, sp.appId, TEST_KEY_PEM, x5t1);
    expect(own.access_token).toBeTruthy();
    const token = own.access_token!;
    expect((await graphAs(token, 'GET', `/servicePrincipals/${sp.id}`)).status).toBe(403);
    const foreign = await graphAs(token, 'POST', `/servicePrincipals/${other.id}/addKey`, { keyCredential: cert(TEST_CERT2_BASE64), passwordCredential: null, proof: await proofFor(other.id, TEST_KEY_PEM, x5t1) });
    expect(foreign.status).toBe(403);
    expect((await js(foreign)).error.code).toBe('Authorization_RequestDenied');
    const rolled = await graphAs(token, 'POST', `/servicePrincipals/${sp.id}/addKey`, { keyCredential: cert(TEST_CERT2_BASE64), passwordCredential: null, proof: await proofFor(sp.id, TEST_KEY_PEM, x5t1) });
    expect(rolled.status).toBe(200);
    expect((await tokenWith(t, sp.appId, TEST_KEY2_PEM, x5t2)).access_token).toBeTruthy();
  });
});
