import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { baseUrl, createTenant, operatorKey } from './service.js';
import { backupState as readBackupState, backupTenant, json, op, until } from './backup-fixtures.js';
import { signInViaForm } from './token-fixtures.js';


interface TenantStats { tenantId: string; sessions: number; apps: number; served: number; keyPublished: boolean; revokedUsers: number; pendingAdoption: number }
interface State { edge: { cells: Array<{ cell: string; mode: string }> }; stores: Array<{ tenants?: TenantStats[] }> }

const backupState = () => readBackupState<State>();
const tenantStats = (tenantId: string) => backupTenant<TenantStats>(tenantId);

/** Which path answered each token request (the edge's `tessera-served-by` header), through openid-client's own fetch hook. */
function servedBy(config: client.Configuration): string[] {
  const seen: string[] = [];
  config[client.customFetch] = async (url, options) => {
    const r = await fetch(url, options as RequestInit);
    if (new URL(url).pathname.endsWith('/oauth2/v2.0/token')) seen.push(r.headers.get('tessera-served-by') ?? '');
    return r;
  };
  return seen;
}

describe('backup authentication (issue 14): openid-client through a full primary outage', () => {
  afterAll(async () => {
    await op('DELETE', '/admin/faults', null);
  });

  it('keeps existing sessions and known apps signed in, refuses the rest, and hands back to the primary', async () => {
    const tenant = await createTenant('weur');
    const tid = tenant.tenantId;
    const users = [['megan@fabrikam.com', 'Megan'], ['adele@fabrikam.com', 'Adele']] as const;
    const password = 'Sturdy-Passw0rd!';
    const ids: string[] = [];
    for (const [upn, name] of users) {
      const u = await json('POST', '/v1.0/users', tid, { displayName: name, userPrincipalName: upn, accountEnabled: true, mailNickname: name.toLowerCase(), passwordProfile: { password } });
      ids.push(String(u.id));
    }
    const redirectUri = 'https://spa.example.com/cb';
    const app = await json('POST', '/v1.0/applications', tid, { displayName: 'Fabrikam SPA', spa: { redirectUris: [redirectUri] }, isFallbackPublicClient: true });
    const issuer = new URL(`${baseUrl()}/${tid}/v2.0`);
    const config = await client.discovery(issuer, String(app.appId), undefined, client.None());
    const served = servedBy(config);

    const signIn = async (upn: string) => {
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid profile offline_access User.Read', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
      return client.authorizationCodeGrant(config, await signInViaForm(url, upn, password), { pkceCodeVerifier: verifier });
    };
    // Megan signs in before the outage; Adele too, and then her account is disabled (a critical event).
    let megan: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers = await signIn(users[0][0]);
    megan = await client.refreshTokenGrant(config, megan.refresh_token!);
    const adele = await signIn(users[1][0]);
    await json('PATCH', `/v1.0/users/${ids[1]}`, tid, { accountEnabled: false });
    // A known app: client_credentials with a secret (client_secret_post here, Basic during the outage).
    const cc = await fetch(`${baseUrl()}/${tid}/oauth2/v2.0/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: tenant.adminClientId, client_secret: tenant.adminClientSecret, scope: 'https://graph.microsoft.com/.default' }),
    });
    expect(cc.status).toBe(200);

    // Learning is asynchronous: wait until the backup store holds both sessions and the app, its key is published, and the disable is known.
    await until('learning', async () => {
      const s = await tenantStats(tid);
      return s !== undefined && s.sessions >= 2 && s.apps >= 1 && s.keyPublished && s.revokedUsers >= 1 ? s : undefined;
    });

    // The whole primary path goes down.
    expect((await op('PUT', '/admin/faults', null, { primaryPathDown: true })).status).toBe(200);
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const firstBackupToken = served.length;
    const issuedDuringOutage: string[] = [];
    for (let i = 0; i < 5; i++) {
      megan = await client.refreshTokenGrant(config, megan.refresh_token!);
      issuedDuringOutage.push(megan.refresh_token!);
      await jwtVerify(megan.id_token!, jwks, { issuer: issuer.toString(), audience: String(app.appId) });
      expect(megan.claims()?.preferred_username).toBe(users[0][0]);
    }
    expect(served.slice(firstBackupToken).every((s) => s.startsWith('backup:'))).toBe(true);
    // Graph tokens are v1 (the v1 issuer); they verify against the same JWKS.
    await jwtVerify(megan.access_token, jwks, { issuer: `${baseUrl()}/${tid}/` });

    const appConfig = await client.discovery(issuer, tenant.adminClientId, tenant.adminClientSecret);
    const appServed = servedBy(appConfig);
    const appToken = await client.clientCredentialsGrant(appConfig, { scope: 'https://graph.microsoft.com/.default' });
    expect(appServed).toEqual([expect.stringMatching(/^backup:/)]);
    const { payload } = await jwtVerify(appToken.access_token, jwks, { issuer: `${baseUrl()}/${tid}/`, audience: 'https://graph.microsoft.com' });
    expect(payload).toMatchObject({ tid, appid: tenant.adminClientId, roles: expect.arrayContaining(['Directory.ReadWrite.All']) });

    // A session revoked before the outage stays refused; a new interactive sign-in and device code fail cleanly.
    await expect(client.refreshTokenGrant(config, adele.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const page = await fetch(client.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }));
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('Sign-in is temporarily unavailable');
    const device = await fetch(`${baseUrl()}/${tid}/oauth2/v2.0/devicecode`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: String(app.appId), scope: 'openid' }) });
    expect(device.status).toBe(503);
    expect(await device.json()).toMatchObject({ error: 'temporarily_unavailable' });

    // Healing: the edge probes the primary and moves back; the backup's rotations are adopted.
    expect((await op('DELETE', '/admin/faults', null)).status).toBe(200);
    await until('return to the primary', async () => {
      await fetch(config.serverMetadata().jwks_uri!);
      const st = await backupState();
      return st.edge.cells.length > 0 && st.edge.cells.every((c) => c.mode === 'primary') ? st : undefined;
    });
    // The takeover raised a backupAuthTakeover health alert for the tenant (Tessera's own alert type: shown with the Prefer header).
    const takeover = await until('backupAuthTakeover alert', async () => {
      const r = await fetch(`${baseUrl()}/beta/reports/healthMonitoring/alerts`, { headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': tid, prefer: 'include-unknown-enum-members' } });
      return ((await r.json()) as { value: Array<{ alertType: string; state: string; signals: { cellId: string } }> }).value.find((a) => a.alertType === 'backupAuthTakeover');
    });
    expect(takeover).toMatchObject({ state: 'active', signals: { cellId: tenant.cell } });

    const beforeReturn = served.length;
    const last = megan.refresh_token!;
    const atPrimary = await client.refreshTokenGrant(config, last);
    expect(served[beforeReturn]).not.toMatch(/^backup:/);
    await jwtVerify(atPrimary.id_token!, jwks, { issuer: issuer.toString(), audience: String(app.appId) });
    // The backup path's sign-ins are in the tenant's sign-in log, tokenIssuerType an evolvable enum member.
    const signIns = async (prefer: boolean) => {
      const r = await op('GET', `/v1.0/auditLogs/signIns?$filter=userId eq '${ids[0]}'`, tid);
      if (prefer) {
        const again = await fetch(`${baseUrl()}/v1.0/auditLogs/signIns?$filter=userId eq '${ids[0]}'`, { headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': tid, prefer: 'include-unknown-enum-members' } });
        return ((await again.json()) as { value: Array<{ tokenIssuerType: string }> }).value;
      }
      return ((await r.json()) as { value: Array<{ tokenIssuerType: string }> }).value;
    };
    const withEnums = await until('backup sign-ins adopted', async () => {
      const v = await signIns(true);
      return v.filter((x) => x.tokenIssuerType === 'AzureADBackupAuth').length >= 5 ? v : undefined;
    });
    expect(withEnums.some((x) => x.tokenIssuerType === 'AzureAD')).toBe(true);
    const plain = await signIns(false);
    expect(plain.some((x) => x.tokenIssuerType === 'AzureADBackupAuth')).toBe(false);
    expect(plain.filter((x) => x.tokenIssuerType === 'unknownFutureValue').length).toBeGreaterThanOrEqual(5);

    // Replaying an older token the backup issued trips reuse detection at the primary: the family is revoked.
    await expect(client.refreshTokenGrant(config, issuedDuringOutage[1]!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(config, atPrimary.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
