import { describe, expect, it } from 'vitest';
import { eventually } from './mi-helpers.js';
import { answerConsent, authorizeUrl, call, decodeJwt, form, graphAs, redeem, s256, sample, submitPassword, VERIFIER, type Sample } from './token-helpers.js';
import { env } from 'cloudflare:workers';
import { BASE } from './helpers.js';
import { classifiedRequest, classify } from '../../core/directory/index.js';
import { replicaStub } from '../../durable-objects/replica-protocol.js';

/** A Graph write made by another edge: straight to the cell's primary, so this isolate's caches learn of it only through CAE. */
async function writeElsewhere(s: Sample, method: string, path: string, body: unknown): Promise<void> {
  const cell = (await (await call('GET', `/admin/cells/${s.t.cell}`)).json()) as { primaryRegion: string; epoch: number; regions: string[]; voters?: string[] };
  const c = classify(method, path, null);
  if (!c.ok) throw new Error('classify');
  const topology = { cell: s.t.cell, region: cell.primaryRegion, regions: cell.regions, primaryRegion: cell.primaryRegion, epoch: cell.epoch, ...(cell.voters ? { voters: cell.voters } : {}) };
  const out = await replicaStub(env, s.t.cell, cell.primaryRegion).graph(topology, { tenantId: s.t.tenantId, request: classifiedRequest(c.value, body, {}, `${BASE}/v1.0`), caller: { kind: 'operator' }, correlationId: 'elsewhere' });
  expect(out.kind).toBe('reply');
}

const SCOPE = 'openid profile offline_access User.Read';
const cp1 = (extra: Record<string, unknown> = {}) => JSON.stringify({ access_token: { xms_cc: { values: ['cp1'] }, ...extra } });
const op = (s: Sample, method: string, path: string, body?: unknown) => call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': s.t.tenantId } });

async function tokenFor(s: Sample, claims?: string): Promise<string> {
  const r = await answerConsent(await submitPassword(s, authorizeUrl(s, SCOPE, await s256(VERIFIER), claims !== undefined ? { claims } : {}), s.password));
  const code = new URL(r.headers.get('location')!).searchParams.get('code')!;
  const t = await redeem(s, code);
  expect(t.status).toBe(200);
  return ((await t.json()) as { access_token: string }).access_token;
}

const me = (token: string) => graphAs(token, 'GET', '/me');

describe('continuous access evaluation in Graph (workers/platform/token-auth.ts, cae-state.ts)', () => {
  it('answers a CAE-capable token issued before revokeSignInSessions with the exact claims challenge; the challenge gets a working token', async () => {
    const s = await sample();
    const token = await tokenFor(s, cp1());
    expect((await me(token)).status).toBe(200);
    expect((await op(s, 'POST', `/users/${s.userId}/revokeSignInSessions`)).status).toBe(200);
    let last: Response | undefined;
    await eventually(async () => (last = await me(token)).status === 401);
    const user = (await (await op(s, 'GET', `/users/${s.userId}?$select=signInSessionsValidFromDateTime`)).json()) as { signInSessionsValidFromDateTime: string };
    const nbf = Math.floor(Date.parse(user.signInSessionsValidFromDateTime) / 1000) + 1;
    const claims = btoa(`{"access_token":{"nbf":{"essential":true,"value":"${nbf}"}}}`);
    expect(last!.headers.get('www-authenticate')).toBe(`Bearer authorization_uri="${BASE}/${s.t.tenantId}/oauth2/v2.0/authorize", error="insufficient_claims", claims="${claims}"`);
    expect(((await last!.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
    // The client replays the challenge as the claims parameter (merged with its capability), from the challenge's second on.
    while (Date.now() < nbf * 1000) await new Promise((r) => setTimeout(r, 50));
    const again = await tokenFor(s, cp1(JSON.parse(atob(claims)).access_token));
    expect(Number(decodeJwt(again).payload['nbf'])).toBeGreaterThanOrEqual(nbf);
    expect((await me(again)).status).toBe(200);
  });

  it('answers a non-capable token with a plain 401 InvalidAuthenticationToken after the account is disabled', async () => {
    const s = await sample();
    const token = await tokenFor(s);
    expect((await me(token)).status).toBe(200);
    expect((await op(s, 'PATCH', `/users/${s.userId}`, { accountEnabled: false })).status).toBe(204);
    let last: Response | undefined;
    await eventually(async () => (last = await me(token)).status === 401);
    expect(last!.headers.get('www-authenticate')).toBe('Bearer realm="tessera"');
    expect(((await last!.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
  });

  it('a removed client secret stops issuing from the edge cache, and the app\'s earlier tokens stop working', async () => {
    const s = await sample();
    const t = s.t;
    const apps = (await (await op(s, 'GET', `/applications?$filter=${encodeURIComponent(`appId eq '${t.adminClientId}'`)}`)).json()) as { value: Array<{ id: string }> };
    const appObject = apps.value[0]!.id;
    const added = (await (await op(s, 'POST', `/applications/${appObject}/addPassword`, {})).json()) as { keyId: string; secretText: string };
    const cc = () => form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: added.secretText, scope: 'https://graph.microsoft.com/.default' });
    const first = await cc();
    expect(first.status).toBe(200);
    const appToken = ((await first.json()) as { access_token: string }).access_token;
    expect((await cc()).headers.get('tessera-served-by')).toBe('edge');
    expect((await graphAs(appToken, 'GET', '/users')).status).toBe(200);
    // Removed through another edge: only the pulled critical event tells this one.
    await writeElsewhere(s, 'POST', `/applications/${appObject}/removePassword`, { keyId: added.keyId });
    // Once this edge refuses the app's earlier token, it has the event: the cache must not answer either.
    await eventually(async () => (await graphAs(appToken, 'GET', '/users')).status === 401);
    const after = await cc();
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: string }).error).toBe('invalid_client');
  });
});
