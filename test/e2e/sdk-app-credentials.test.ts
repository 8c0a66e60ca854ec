import { ClientSecretCredential, DeviceCodeCredential, type TokenCredential } from '@azure/identity';
import { ConfidentialClientApplication, PublicClientApplication } from '@azure/msal-node';
import { Client } from '@microsoft/microsoft-graph-client';
import { createRemoteJWKSet, decodeJwt, importPKCS8, jwtVerify, SignJWT } from 'jose';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { baseUrl } from './service.js';
import { acceptConsent, cookiesFrom, fixture, parseForm } from './token-fixtures.js';
import { TEST_CERT2_BASE64, TEST_CERT_BASE64, TEST_KEY2_PEM, TEST_KEY_PEM } from '../integration/cert-fixture.js';

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
/** How each SDK is pointed at a non-Microsoft authority (as the README describes). */
const identityOptions = () => ({ authorityHost: baseUrl(), disableInstanceDiscovery: true });
const msalAuth = (tenantId: string) => ({ authority: `${baseUrl()}/${tenantId}`, knownAuthorities: [new URL(baseUrl()).host] });

function graphClient(credential: TokenCredential): Client {
  return Client.init({
    baseUrl: baseUrl(),
    defaultVersion: 'v1.0',
    customHosts: new Set([new URL(baseUrl()).hostname]),
    authProvider: (done) => {
      credential.getToken(GRAPH_SCOPE).then((t) => done(null, t?.token ?? null), (e: Error) => done(e, null));
    },
  });
}

/** A user completing a device code on the verification page, like a browser would (fetch, carrying the page's cookie). */
async function approveDevice(verificationUri: string, userCode: string, upn: string, password: string): Promise<void> {
  const page = await fetch(verificationUri);
  const { action, fields } = parseForm(await page.text(), verificationUri);
  const signedIn = await fetch(action, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookiesFrom(page) },
    body: new URLSearchParams({ ...fields, user_code: userCode, username: upn, password }),
  });
  const done = await acceptConsent(signedIn, action, cookiesFrom(page));
  if (!(await done.text()).includes('You are signed in')) throw new Error('device code approval failed');
}

describe('an app registered and credentialed entirely through Graph', () => {
  it('ClientSecretCredential drives the Graph SDK; the new app gets a v1 token with its app role from MSAL client credentials', async () => {
    const f = await fixture();
    const admin = new ClientSecretCredential(f.tenant.tenantId, f.tenant.adminClientId, f.tenant.adminClientSecret, identityOptions());
    const graph = graphClient(admin);
    const uri = 'api://demo';
    const roleId = crypto.randomUUID();
    const api = (await graph.api('/applications').post({
      displayName: 'Demo API', identifierUris: [uri],
      appRoles: [{ id: roleId, allowedMemberTypes: ['Application'], value: 'Demo.Read.All', displayName: 'Read demo data', isEnabled: true }],
    })) as { id: string; appId: string };
    const apiSp = (await graph.api('/servicePrincipals').post({ appId: api.appId })) as { id: string };
    const daemon = (await graph.api('/applications').post({ displayName: 'Demo daemon' })) as { id: string; appId: string };
    const daemonSp = (await graph.api('/servicePrincipals').post({ appId: daemon.appId })) as { id: string };
    const password = (await graph.api(`/applications/${daemon.id}/addPassword`).post({ passwordCredential: { displayName: 'ci' } })) as { secretText: string; keyId: string };
    expect(password.secretText.length).toBeGreaterThanOrEqual(40);
    const assignment = (await graph.api(`/servicePrincipals/${apiSp.id}/appRoleAssignedTo`).post({ principalId: daemonSp.id, resourceId: apiSp.id, appRoleId: roleId })) as { id: string; principalType: string };
    expect(assignment.principalType).toBe('ServicePrincipal');

    const msal = new ConfidentialClientApplication({ auth: { clientId: daemon.appId, clientSecret: password.secretText, ...msalAuth(f.tenant.tenantId) } });
    const result = await msal.acquireTokenByClientCredential({ scopes: [`${uri}/.default`] });
    expect(result?.accessToken).toBeTruthy();
    const jwks = createRemoteJWKSet(new URL(`${baseUrl()}/${f.tenant.tenantId}/discovery/keys`));
    const { payload } = await jwtVerify(result!.accessToken, jwks, { issuer: `${baseUrl()}/${f.tenant.tenantId}/`, audience: uri });
    expect(payload).toMatchObject({ ver: '1.0', appid: daemon.appId, oid: daemonSp.id, roles: ['Demo.Read.All'] });

    // The same secret through Azure Identity; then removed through Graph, it stops working.
    const daemonCredential = new ClientSecretCredential(f.tenant.tenantId, daemon.appId, password.secretText, identityOptions());
    expect(decodeJwt((await daemonCredential.getToken(`${uri}/.default`)).token).roles).toEqual(['Demo.Read.All']);
    await graph.api(`/applications/${daemon.id}/removePassword`).post({ keyId: password.keyId });
    const removed = new ConfidentialClientApplication({ auth: { clientId: daemon.appId, clientSecret: password.secretText, ...msalAuth(f.tenant.tenantId) } });
    await expect(removed.acquireTokenByClientCredential({ scopes: [`${uri}/.default`] })).rejects.toMatchObject({ errorCode: 'invalid_client' });
  });
});

describe('certificates through Graph (PATCH keyCredentials, addKey, removeKey)', () => {
  it('@azure/msal-node authenticates with the certificate (client assertion, x5t#S256) and gets a Graph token', async () => {
    const f = await fixture();
    const graph = graphClient(new ClientSecretCredential(f.tenant.tenantId, f.tenant.adminClientId, f.tenant.adminClientSecret, identityOptions()));
    const app = (await graph.api('/applications').post({ displayName: 'Cert daemon' })) as { id: string; appId: string };
    await graph.api(`/applications/${app.id}`).patch({ keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: TEST_CERT_BASE64, displayName: 'CN=tessera-test' }] });
    const der = Uint8Array.from(atob(TEST_CERT_BASE64), (c) => c.charCodeAt(0));
    const thumbprintSha256 = Buffer.from(await crypto.subtle.digest('SHA-256', der)).toString('hex');
    const msal = new ConfidentialClientApplication({
      auth: { clientId: app.appId, clientCertificate: { thumbprintSha256, privateKey: TEST_KEY_PEM }, ...msalAuth(f.tenant.tenantId) },
    });
    const result = await msal.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
    expect(decodeJwt(result!.accessToken)).toMatchObject({ aud: 'https://graph.microsoft.com', appid: app.appId, ver: '1.0' });
  });

  it('the app rolls to a second certificate with addKey / removeKey (proof of possession), and MSAL follows', async () => {
    const f = await fixture();
    const graph = graphClient(new ClientSecretCredential(f.tenant.tenantId, f.tenant.adminClientId, f.tenant.adminClientSecret, identityOptions()));
    const app = (await graph.api('/applications').post({ displayName: 'Rolling daemon' })) as { id: string; appId: string };
    await graph.api(`/applications/${app.id}`).patch({ keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: TEST_CERT_BASE64 }] });
    const digest = async (b64: string, alg: 'SHA-1' | 'SHA-256') => Buffer.from(await crypto.subtle.digest(alg, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
    // Graph's proof: aud 00000002-…, iss = the application's object id, at most 10 minutes.
    const proof = async (keyPem: string, certB64: string) => new SignJWT({ aud: '00000002-0000-0000-c000-000000000000', iss: app.id })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5t: (await digest(certB64, 'SHA-1')).toString('base64url') })
      .setNotBefore(Math.floor(Date.now() / 1000)).setExpirationTime(Math.floor(Date.now() / 1000) + 600).sign(await importPKCS8(keyPem, 'RS256'));
    const added = (await graph.api(`/applications/${app.id}/addKey`).post({
      keyCredential: { type: 'AsymmetricX509Cert', usage: 'Verify', key: TEST_CERT2_BASE64 }, passwordCredential: null, proof: await proof(TEST_KEY_PEM, TEST_CERT_BASE64),
    })) as { keyId: string };
    const withCert = (keyPem: string, certB64: string) => digest(certB64, 'SHA-256').then((t) => new ConfidentialClientApplication({
      auth: { clientId: app.appId, clientCertificate: { thumbprintSha256: t.toString('hex'), privateKey: keyPem }, ...msalAuth(f.tenant.tenantId) },
    }));
    expect((await (await withCert(TEST_KEY2_PEM, TEST_CERT2_BASE64)).acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] }))?.accessToken).toBeTruthy();
    const listed = (await graph.api(`/applications/${app.id}`).get()) as { keyCredentials: Array<{ keyId: string }> };
    const first = listed.keyCredentials.find((k) => k.keyId !== added.keyId)!;
    await graph.api(`/applications/${app.id}/removeKey`).post({ keyId: first.keyId, proof: await proof(TEST_KEY2_PEM, TEST_CERT2_BASE64) });
    await expect((await withCert(TEST_KEY_PEM, TEST_CERT_BASE64)).acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] })).rejects.toMatchObject({ errorCode: 'invalid_client' });
    // A proof from the removed certificate is refused as Graph refuses one (401).
    await expect(graph.api(`/applications/${app.id}/addKey`).post({
      keyCredential: { type: 'AsymmetricX509Cert', usage: 'Verify', key: TEST_CERT_BASE64 }, passwordCredential: null, proof: await proof(TEST_KEY_PEM, TEST_CERT_BASE64),
    })).rejects.toMatchObject({ statusCode: 401, code: 'Authentication_MissingOrMalformed' });
  });
});

describe('certificates of a service principal through Graph (servicePrincipal: addKey)', () => {
  it('PATCH keyCredentials on the service principal, MSAL authenticates with it, then addKey (proof iss = the service principal) and MSAL follows', async () => {
    const f = await fixture();
    const graph = graphClient(new ClientSecretCredential(f.tenant.tenantId, f.tenant.adminClientId, f.tenant.adminClientSecret, identityOptions()));
    const app = (await graph.api('/applications').post({ displayName: 'SP cert daemon' })) as { appId: string };
    const sp = (await graph.api('/servicePrincipals').post({ appId: app.appId })) as { id: string };
    await graph.api(`/servicePrincipals/${sp.id}`).patch({ keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: TEST_CERT_BASE64 }] });
    const digest = async (b64: string, alg: 'SHA-1' | 'SHA-256') => Buffer.from(await crypto.subtle.digest(alg, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
    const withCert = (keyPem: string, certB64: string) => digest(certB64, 'SHA-256').then((t) => new ConfidentialClientApplication({
      auth: { clientId: app.appId, clientCertificate: { thumbprintSha256: t.toString('hex'), privateKey: keyPem }, ...msalAuth(f.tenant.tenantId) },
    }));
    expect((await (await withCert(TEST_KEY_PEM, TEST_CERT_BASE64)).acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] }))?.accessToken).toBeTruthy();
    const proof = new SignJWT({ aud: '00000002-0000-0000-c000-000000000000', iss: sp.id })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5t: (await digest(TEST_CERT_BASE64, 'SHA-1')).toString('base64url') })
      .setNotBefore(Math.floor(Date.now() / 1000)).setExpirationTime(Math.floor(Date.now() / 1000) + 600).sign(await importPKCS8(TEST_KEY_PEM, 'RS256'));
    await graph.api(`/servicePrincipals/${sp.id}/addKey`).post({ keyCredential: { type: 'AsymmetricX509Cert', usage: 'Verify', key: TEST_CERT2_BASE64 }, passwordCredential: null, proof: await proof });
    expect((await (await withCert(TEST_KEY2_PEM, TEST_CERT2_BASE64)).acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] }))?.accessToken).toBeTruthy();
  });
});

describe('device code with the Microsoft SDKs (grant_type=device_code)', () => {
  it('@azure/msal-node PublicClientApplication.acquireTokenByDeviceCode', async () => {
    const f = await fixture();
    const pca = new PublicClientApplication({ auth: { clientId: f.appId, ...msalAuth(f.tenant.tenantId) } });
    let approval: Promise<void> | undefined;
    const result = await pca.acquireTokenByDeviceCode({
      scopes: ['User.Read'],
      deviceCodeCallback: (r) => {
        approval = approveDevice(r.verificationUri, r.userCode, f.upn, f.password);
      },
    });
    await approval;
    expect(result?.account?.username).toBe(f.upn);
    expect(decodeJwt(result!.accessToken)).toMatchObject({ aud: 'https://graph.microsoft.com', ver: '1.0', scp: 'User.Read', upn: f.upn });
  });

  it('@azure/identity DeviceCodeCredential, the user approving in a real browser (playwright-core + chromium)', async () => {
    const f = await fixture();
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      let approval: Promise<void> | undefined;
      const credential = new DeviceCodeCredential({
        tenantId: f.tenant.tenantId, clientId: f.appId, ...identityOptions(),
        userPromptCallback: (info) => {
          approval = (async () => {
            const context = await browser.newContext({ ignoreHTTPSErrors: true });
            const page = await context.newPage();
            await page.goto(info.verificationUri);
            await page.fill('#user_code', info.userCode);
            await page.fill('#username', f.upn);
            await page.fill('#password', f.password);
            await page.click('button[type=submit]');
            await page.click('#accept');
            await page.getByText('You are signed in').waitFor();
            await context.close();
          })();
        },
      });
      const token = await credential.getToken('User.Read');
      await approval;
      expect(decodeJwt(token.token)).toMatchObject({ aud: 'https://graph.microsoft.com', scp: 'User.Read', upn: f.upn });
      const me = await fetch(`${baseUrl()}/v1.0/me`, { headers: { authorization: `Bearer ${token.token}` } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { userPrincipalName: string }).userPrincipalName).toBe(f.upn);
    } finally {
      await browser.close();
    }
  });
});
