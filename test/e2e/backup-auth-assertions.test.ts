import * as client from 'openid-client';
import { createRemoteJWKSet, importPKCS8, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_CERT_BASE64, TEST_KEY_PEM } from '../integration/cert-fixture.js';
import { baseUrl, createTenant } from './service.js';
import { backupState, backupTenant, json, op, until } from './backup-fixtures.js';


interface TenantStats { tenantId: string; apps: number; keyPublished: boolean; pendingAdoption: number }
interface State { edge: { cells: Array<{ mode: string }> }; stores: Array<{ tenants?: TenantStats[]; drills?: Array<{ tenantId: string }> }> }
const state = () => backupState<State>();
const stats = (tid: string) => backupTenant<TenantStats>(tid);

/** Every token request openid-client makes: its form body (the assertion in it) and which path answered. */
function recorder(config: client.Configuration): Array<{ body: string; servedBy: string; status: number }> {
  const seen: Array<{ body: string; servedBy: string; status: number }> = [];
  config[client.customFetch] = async (url, options) => {
    const r = await fetch(url, options as RequestInit);
    if (new URL(url).pathname.endsWith('/oauth2/v2.0/token')) seen.push({ body: String(options.body), servedBy: r.headers.get('tessera-served-by') ?? '', status: r.status });
    return r;
  };
  return seen;
}

describe('backup authentication (issue 14): a certificate client (private_key_jwt) through an outage, and drills kept in the backup store', () => {
  afterAll(async () => {
    await op('DELETE', '/admin/faults', null);
  });

  it('serves client assertions on the backup path, accepts each assertion once across both paths, and keeps drills in the store', async () => {
    const tenant = await createTenant('weur');
    const tid = tenant.tenantId;
    const app = await json('POST', '/v1.0/applications', tid, { displayName: 'Cert daemon' });
    await json('PATCH', `/v1.0/applications/${String(app.id)}`, tid, { keyCredentials: [{ type: 'AsymmetricX509Cert', usage: 'Verify', key: TEST_CERT_BASE64, displayName: 'CN=tessera-test' }] });
    const der = Uint8Array.from(atob(TEST_CERT_BASE64), (c) => c.charCodeAt(0));
    const x5tS256 = Buffer.from(await crypto.subtle.digest('SHA-256', der)).toString('base64url');
    const issuer = new URL(`${baseUrl()}/${tid}/v2.0`);
    const key = await importPKCS8(TEST_KEY_PEM, 'RS256');
    // openid-client's own private_key_jwt, the certificate named by its SHA-256 thumbprint as MSAL does.
    const config = await client.discovery(issuer, String(app.appId), undefined, client.PrivateKeyJwt({ key }, {
      [client.modifyAssertion]: (header) => {
        header['x5t#S256'] = x5tS256;
      },
    }));
    const sent = recorder(config);
    const scope = 'https://graph.microsoft.com/.default';
    const resend = (body: string) => fetch(`${baseUrl()}/${tid}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

    await client.clientCredentialsGrant(config, { scope });
    const beforeOutage = sent[0]!;
    expect(beforeOutage.servedBy).not.toMatch(/^backup:/);
    await until('learning the assertion app', async () => {
      const s = await stats(tid);
      return s !== undefined && s.apps >= 1 && s.keyPublished ? s : undefined;
    });

    expect((await op('PUT', '/admin/faults', null, { primaryPathDown: true })).status).toBe(200);
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const during = await client.clientCredentialsGrant(config, { scope });
    const duringCall = sent[sent.length - 1]!;
    expect(duringCall.servedBy).toMatch(/^backup:/);
    const { payload } = await jwtVerify(during.access_token, jwks, { issuer: `${baseUrl()}/${tid}/`, audience: 'https://graph.microsoft.com' });
    expect(payload).toMatchObject({ tid, appid: String(app.appId) });
    // The same assertion again on the backup path, and the one the primary accepted before the outage: both replays.
    for (const body of [duringCall.body, beforeOutage.body]) {
      const replay = await resend(body);
      expect(replay.status).toBe(401);
      expect(await replay.json()).toMatchObject({ error: 'invalid_client', trace_id: expect.any(String) });
    }

    // Healing: once the primary has adopted the backup's jtis, the assertion the backup accepted is a replay there too.
    expect((await op('DELETE', '/admin/faults', null)).status).toBe(200);
    await until('return to the primary and adoption', async () => {
      await fetch(config.serverMetadata().jwks_uri!);
      const st = await state();
      const mine = st.stores.flatMap((s) => s.tenants ?? []).find((t) => t.tenantId === tid);
      return st.edge.cells.every((c) => c.mode === 'primary') && mine?.pendingAdoption === 0 ? st : undefined;
    });
    const atPrimary = await resend(duringCall.body);
    expect(atPrimary.headers.get('tessera-served-by') ?? '').not.toMatch(/^backup:/);
    expect(atPrimary.status).toBe(401);
    expect(await atPrimary.json()).toMatchObject({ error: 'invalid_client' });

    // A drill is kept in the tenant's backup store (listed there), forces the backup path, and ends with minutes 0.
    expect(await json('POST', '/admin/backup-auth/drill', null, { tenantId: tid, minutes: 5 })).toMatchObject({ tenantId: tid, active: true });
    expect((await state()).stores.flatMap((s) => s.drills ?? []).map((d) => d.tenantId)).toContain(tid);
    await client.clientCredentialsGrant(config, { scope });
    expect(sent[sent.length - 1]!.servedBy).toMatch(/^backup:/);
    expect(await json('POST', '/admin/backup-auth/drill', null, { tenantId: tid, minutes: 0 })).toMatchObject({ active: false });
    expect((await state()).stores.flatMap((s) => s.drills ?? []).map((d) => d.tenantId)).not.toContain(tid);
    await client.clientCredentialsGrant(config, { scope });
    expect(sent[sent.length - 1]!.servedBy).not.toMatch(/^backup:/);
    expect((await op('POST', '/admin/backup-auth/drill', null, { tenantId: 'no-such-tenant', minutes: 5 })).status).toBe(404);
  });
});
