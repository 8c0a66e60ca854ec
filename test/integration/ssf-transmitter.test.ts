import { exports } from 'cloudflare:workers';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { BASE } from './helpers.js';
import { call, form, newTokenTenant, type TokenTenant } from './token-helpers.js';
import { eventually } from './mi-helpers.js';
import { env } from 'cloudflare:workers';
import { classifiedRequest, classify } from '../../core/directory/index.js';
import { replicaStub } from '../../durable-objects/replica-protocol.js';

/** A write made by another edge, straight to the primary: nobody pokes the transmitter. */
async function writeElsewhere(t: TokenTenant, method: string, path: string): Promise<void> {
  const cell = (await (await call('GET', `/admin/cells/${t.cell}`)).json()) as { primaryRegion: string; epoch: number; regions: string[]; voters?: string[] };
  const c = classify(method, path, null);
  if (!c.ok) throw new Error('classify');
  const topology = { cell: t.cell, region: cell.primaryRegion, regions: cell.regions, primaryRegion: cell.primaryRegion, epoch: cell.epoch, ...(cell.voters ? { voters: cell.voters } : {}) };
  const out = await replicaStub(env, t.cell, cell.primaryRegion).graph(topology, { tenantId: t.tenantId, request: classifiedRequest(c.value, undefined, {}, `${BASE}/v1.0`), caller: { kind: 'operator' }, correlationId: 'elsewhere' });
  expect(out.kind).toBe('reply');
}

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const POLL = { method: 'urn:ietf:rfc:8936' };

const op = (t: TokenTenant, method: string, path: string, body?: unknown) => call(method, `/v1.0${path}`, { body, headers: { 'x-tessera-tenant': t.tenantId } });
const ssf = (token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request(`${BASE}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  }));

async function appToken(t: TokenTenant, clientId = t.adminClientId, secret = t.adminClientSecret): Promise<string> {
  const r = await form(`/${t.tenantId}/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'https://graph.microsoft.com/.default' });
  expect(r.status).toBe(200);
  return ((await r.json()) as { access_token: string }).access_token;
}

async function setup() {
  const t = await newTokenTenant();
  const token = await appToken(t);
  const u = await op(t, 'POST', '/users', { accountEnabled: true, displayName: 'Lee', mailNickname: 'lee', userPrincipalName: 'lee@contoso.com', passwordProfile: { password: 'Passw0rd!Passw0rd!' } });
  const userId = ((await u.json()) as { id: string }).id;
  const streams = `/${t.tenantId}/ssf/streams`;
  const create = async (body: unknown) => {
    const r = await ssf(token, 'POST', streams, body);
    expect(r.status).toBe(201);
    return (await r.json()) as { stream_id: string; events_delivered: string[] };
  };
  const poll = async (id: string, ack: string[] = []) => {
    const r = await ssf(token, 'POST', `/${t.tenantId}/ssf/poll/${id}`, { ack, returnImmediately: true });
    expect(r.status).toBe(200);
    return Object.values(((await r.json()) as { sets: Record<string, string> }).sets).map((x) => ({ jti: decodeJwt(x).jti as string, claims: decodeJwt(x) }));
  };
  return { t, token, userId, streams, create, poll };
}

describe('Shared Signals transmitter (workers/ssf-api.ts, durable-objects/ssf-transmitter.ts)', () => {
  it('maps critical events to CAEP/RISC SETs: credential-change on a password reset, account-disabled then account-enabled; only requested types', async () => {
    const { t, userId, create, poll } = await setup();
    // A change before the stream exists is not sent.
    expect((await op(t, 'POST', `/users/${userId}/revokeSignInSessions`)).status).toBe(200);
    const s = await create({ delivery: POLL, events_requested: [`${CAEP}credential-change`, `${RISC}account-disabled`, `${RISC}account-enabled`, `${CAEP}session-revoked`, 'https://example.com/unknown'] });
    expect(s.events_delivered).toEqual([`${CAEP}session-revoked`, `${CAEP}credential-change`, `${RISC}account-disabled`, `${RISC}account-enabled`]);
    expect((await op(t, 'PATCH', `/users/${userId}`, { jobTitle: 'No event' })).status).toBe(204);
    expect((await op(t, 'PATCH', `/users/${userId}`, { passwordProfile: { password: 'An0ther-Passw0rd!' } })).status).toBe(204);
    expect((await op(t, 'PATCH', `/users/${userId}`, { accountEnabled: false })).status).toBe(204);
    expect((await op(t, 'PATCH', `/users/${userId}`, { accountEnabled: true })).status).toBe(204);
    let sets: Awaited<ReturnType<typeof poll>> = [];
    await eventually(async () => (sets = await poll(s.stream_id)).length >= 3);
    await new Promise((r) => setTimeout(r, 200));
    sets = await poll(s.stream_id);
    const types = sets.map((x) => Object.keys(x.claims.events as object)[0]);
    expect(types).toEqual([`${CAEP}credential-change`, `${RISC}account-disabled`, `${RISC}account-enabled`]);
    expect((sets[0]!.claims.events as Record<string, Record<string, unknown>>)[`${CAEP}credential-change`]).toMatchObject({ credential_type: 'password', change_type: 'update' });
    for (const x of sets) expect(x.claims).toMatchObject({ iss: `${BASE}/${t.tenantId}`, aud: t.adminClientId, sub_id: { format: 'iss_sub', iss: `${BASE}/${t.tenantId}`, sub: userId } });
  });

  it('honours removed subjects, names a subject added by email by email, and holds events while paused', async () => {
    const { t, token, userId, create, poll } = await setup();
    const s = await create({ delivery: POLL, events_requested: [`${CAEP}session-revoked`] });
    const base = `/${t.tenantId}/ssf`;
    const iss = `${BASE}/${t.tenantId}`;
    expect((await ssf(token, 'POST', `${base}/subjects:remove`, { stream_id: s.stream_id, subject: { format: 'iss_sub', iss, sub: userId } })).status).toBe(204);
    expect((await op(t, 'POST', `/users/${userId}/revokeSignInSessions`)).status).toBe(200);
    expect(await poll(s.stream_id)).toEqual([]);
    // Added back by email: included again, and named as the receiver knows it.
    expect((await ssf(token, 'POST', `${base}/subjects:add`, { stream_id: s.stream_id, subject: { format: 'iss_sub', iss, sub: userId } })).status).toBe(200);
    expect((await ssf(token, 'POST', `${base}/subjects:add`, { stream_id: s.stream_id, subject: { format: 'email', email: 'LEE@contoso.com' } })).status).toBe(200);
    expect((await ssf(token, 'POST', `${base}/status`, { stream_id: s.stream_id, status: 'paused', reason: 'maintenance' })).status).toBe(200);
    expect(await (await ssf(token, 'GET', `${base}/status?stream_id=${s.stream_id}`)).json()).toEqual({ stream_id: s.stream_id, status: 'paused', reason: 'maintenance' });
    expect((await op(t, 'POST', `/users/${userId}/revokeSignInSessions`)).status).toBe(200);
    expect(await poll(s.stream_id)).toEqual([]);
    expect((await ssf(token, 'POST', `${base}/status`, { stream_id: s.stream_id, status: 'enabled' })).status).toBe(200);
    const sets = await poll(s.stream_id);
    expect(sets.map((x) => x.claims.sub_id)).toEqual([{ format: 'email', email: 'lee@contoso.com' }]);
  });

  it('creation is idempotent per client-request-id; update, replace and delete; bad input and SSRF targets get 400', async () => {
    const { t, token, streams } = await setup();
    const body = { delivery: POLL, description: 'one' };
    const a = await ssf(token, 'POST', streams, body, { 'client-request-id': 'create-1' });
    const b = await ssf(token, 'POST', streams, body, { 'client-request-id': 'create-1' });
    const id = ((await a.json()) as { stream_id: string }).stream_id;
    expect(b.status).toBe(201);
    expect(((await b.json()) as { stream_id: string }).stream_id).toBe(id);
    expect((await ssf(token, 'POST', streams, { ...body, description: 'two' }, { 'client-request-id': 'create-1' })).status).toBe(409);
    // A push stream's authorization header is sealed with a fresh nonce per attempt: its retry still matches.
    const push = { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'http://127.0.0.1:9/ssf', authorization_header: 'Bearer receiver-secret' } };
    const p1 = await ssf(token, 'POST', streams, push, { 'client-request-id': 'create-push' });
    const p2 = await ssf(token, 'POST', streams, push, { 'client-request-id': 'create-push' });
    expect([p1.status, p2.status]).toEqual([201, 201]);
    const pushId = ((await p1.json()) as { stream_id: string }).stream_id;
    expect(((await p2.json()) as { stream_id: string }).stream_id).toBe(pushId);
    expect((await ssf(token, 'DELETE', `${streams}?stream_id=${pushId}`)).status).toBe(204);
    expect(((await (await ssf(token, 'GET', streams)).json()) as unknown[]).length).toBe(1);
    const patched = await ssf(token, 'PATCH', streams, { stream_id: id, description: 'patched' });
    expect(await patched.json()).toMatchObject({ stream_id: id, description: 'patched', delivery: { method: 'urn:ietf:rfc:8936' } });
    const replaced = (await (await ssf(token, 'PUT', streams, { stream_id: id, delivery: POLL, aud: 'https://rp.example.com' })).json()) as Record<string, unknown>;
    expect(replaced).toMatchObject({ aud: 'https://rp.example.com' });
    expect(replaced.description).toBeUndefined();
    for (const bad of [{ delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'http://10.0.0.1/hook' } }, { delivery: { method: 'carrier-pigeon' } }, { events_requested: 'all' }, { color: 'blue' }]) {
      const r = await ssf(token, 'POST', streams, bad);
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String), trace_id: expect.any(String) });
    }
    expect((await ssf(token, 'DELETE', `${streams}?stream_id=${id}`)).status).toBe(204);
    expect((await ssf(token, 'GET', `${streams}?stream_id=${id}`)).status).toBe(404);
    expect((await ssf(token, 'POST', `/${t.tenantId}/ssf/verify`, { stream_id: id })).status).toBe(404);
  });

  it('requires the app role SSF.Streams.ReadWrite of the same tenant; metadata only for existing tenants', async () => {
    const { t, streams } = await setup();
    const app = (await (await op(t, 'POST', '/applications', { displayName: 'No role' })).json()) as { id: string; appId: string };
    await op(t, 'POST', '/servicePrincipals', { appId: app.appId });
    const secret = ((await (await op(t, 'POST', `/applications/${app.id}/addPassword`, {})).json()) as { secretText: string }).secretText;
    const r = await ssf(await appToken(t, app.appId, secret), 'GET', streams);
    expect(r.status).toBe(403);
    expect(r.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect((await ssf('not-a-token', 'GET', streams)).status).toBe(401);
    const other = await newTokenTenant();
    expect((await ssf(await appToken(other), 'GET', streams)).status).toBe(401);
    expect((await exports.default.fetch(new Request(`${BASE}/.well-known/ssf-configuration/${crypto.randomUUID()}`))).status).toBe(404);
    expect((await exports.default.fetch(new Request(`${BASE}/.well-known/ssf-configuration/${t.tenantId}`))).status).toBe(200);
  });

  it('a run that cannot reach the primary moves no cursor: the event is sent once the path is back (faults: primaryPathDown)', async () => {
    const { t, userId, create, poll } = await setup();
    const s = await create({ delivery: POLL, events_requested: [`${CAEP}session-revoked`] });
    await writeElsewhere(t, 'POST', `/users/${userId}/revokeSignInSessions`);
    expect((await call('PUT', '/admin/faults', { body: { primaryPathDown: true } })).status).toBe(200);
    try {
      expect(await poll(s.stream_id)).toEqual([]);
    } finally {
      expect((await call('DELETE', '/admin/faults')).status).toBe(200);
    }
    const sets = await poll(s.stream_id);
    expect(sets.map((x) => Object.keys(x.claims.events as object)[0])).toEqual([`${CAEP}session-revoked`]);
  });
});
