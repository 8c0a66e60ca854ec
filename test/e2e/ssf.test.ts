import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseUrl, createTenant, operatorKey, type Tenant } from './service.js';
import { until } from './receiver.js';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';

interface Metadata {
  issuer: string; jwks_uri: string; delivery_methods_supported: string[]; configuration_endpoint: string; status_endpoint: string;
  add_subject_endpoint: string; remove_subject_endpoint: string; verification_endpoint: string; default_subjects: string;
}
interface Stream { stream_id: string; delivery: { method: string; endpoint_url: string }; events_delivered: string[] }

/** An RFC 8935 receiver: keeps each pushed SET with the request headers it came with. */
async function setReceiver(): Promise<{ url: string; got: Array<{ set: string; headers: IncomingHttpHeaders }>; refused: string[]; failNext: number; close: () => Promise<void> }> {
  const r = { url: '', got: [] as Array<{ set: string; headers: IncomingHttpHeaders }>, refused: [] as string[], failNext: 0, close: (): Promise<void> => Promise.resolve() };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (r.failNext > 0) {
        r.failNext--;
        r.refused.push(body);
        res.writeHead(503).end();
        return;
      }
      r.got.push({ set: body, headers: req.headers });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  if (typeof addr !== 'object' || addr === null) throw new Error('no port');
  r.url = `http://127.0.0.1:${addr.port}/events`;
  r.close = () => new Promise<void>((ok) => server.close(() => ok()));
  return r;
}

const operator = (t: Tenant, method: string, path: string, body?: unknown) =>
  fetch(`${baseUrl()}/v1.0${path}`, {
    method, headers: { authorization: `Bearer ${operatorKey()}`, 'x-tessera-tenant': t.tenantId, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

/** The admin app's client_credentials token for Graph (it holds SSF.Streams.ReadWrite from the tenant's creation). */
async function adminToken(t: Tenant): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: t.adminClientId, client_secret: t.adminClientSecret, scope: 'https://graph.microsoft.com/.default' });
  const r = await fetch(`${baseUrl()}/${t.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form });
  expect(r.status).toBe(200);
  return ((await r.json()) as { access_token: string }).access_token;
}

const call = (token: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });

describe('Shared Signals transmitter (SSF 1.0, CAEP, RISC) against wrangler dev', () => {
  let t: Tenant;
  let token: string;
  let meta: Metadata;
  let verify: (set: string, aud: string) => Promise<JWTPayload>;
  let userId: string;
  let receiver: Awaited<ReturnType<typeof setReceiver>>;

  beforeAll(async () => {
    receiver = await setReceiver();
    t = await createTenant('weur');
    token = await adminToken(t);
    const made = await operator(t, 'POST', '/users', {
      accountEnabled: true, displayName: 'Adele', mailNickname: 'adele', userPrincipalName: `adele@${t.tenantId}.example`, passwordProfile: { password: 'Passw0rd!Passw0rd!' },
    });
    userId = ((await made.json()) as { id: string }).id;
    const m = await fetch(`${baseUrl()}/.well-known/ssf-configuration/${t.tenantId}`);
    expect(m.status).toBe(200);
    meta = (await m.json()) as Metadata;
    // The receiver's way: the JWKS the metadata advertises, SETs checked with jose.
    const jwks = createLocalJWKSet((await (await fetch(meta.jwks_uri)).json()) as Parameters<typeof createLocalJWKSet>[0]);
    verify = async (set, aud) => (await jwtVerify(set, jwks, { issuer: meta.issuer, audience: aud, typ: 'secevent+jwt' })).payload;
  });
  afterAll(async () => receiver.close());

  it('advertises the tenant transmitter where SSF 1.0 puts it for issuer {origin}/{tenantId}', () => {
    expect(meta).toMatchObject({
      issuer: `${baseUrl()}/${t.tenantId}`, jwks_uri: `${baseUrl()}/${t.tenantId}/discovery/v2.0/keys`,
      delivery_methods_supported: ['urn:ietf:rfc:8935', 'urn:ietf:rfc:8936'], default_subjects: 'ALL',
      configuration_endpoint: `${baseUrl()}/${t.tenantId}/ssf/streams`, status_endpoint: expect.any(String), add_subject_endpoint: expect.any(String),
      remove_subject_endpoint: expect.any(String), verification_endpoint: expect.any(String),
    });
  });

  it('a poll stream receives a signed session-revoked SET after revokeSignInSessions; acknowledged SETs are not answered again', async () => {
    const body = { aud: 'https://receiver.example.com', delivery: { method: 'urn:ietf:rfc:8936' }, events_requested: [`${CAEP}session-revoked`, `${RISC}account-disabled`] };
    const first = await call(token, 'POST', meta.configuration_endpoint, body, { 'client-request-id': 'ssf-e2e-poll-1' });
    expect(first.status).toBe(201);
    const stream = (await first.json()) as Stream;
    // A retry of the creation (same client-request-id, same body) is the same stream, not a second one.
    const retry = await call(token, 'POST', meta.configuration_endpoint, body, { 'client-request-id': 'ssf-e2e-poll-1' });
    expect(((await retry.json()) as Stream).stream_id).toBe(stream.stream_id);
    expect(((await (await call(token, 'GET', meta.configuration_endpoint)).json()) as Stream[]).filter((s) => s.stream_id === stream.stream_id)).toHaveLength(1);
    expect(stream.delivery.endpoint_url).toBe(`${baseUrl()}/${t.tenantId}/ssf/poll/${stream.stream_id}`);

    expect((await operator(t, 'POST', `/users/${userId}/revokeSignInSessions`)).status).toBe(200);
    const poll = async (ack: string[] = []) => (await (await call(token, 'POST', stream.delivery.endpoint_url, { ack, returnImmediately: true })).json()) as { sets: Record<string, string>; moreAvailable: boolean };
    const got = await until(() => poll(), (p) => Object.keys(p.sets).length > 0);
    const [[jti, set]] = Object.entries(got.sets) as [[string, string]];
    const claims = await verify(set, 'https://receiver.example.com');
    expect(claims.jti).toBe(jti);
    expect(claims.sub_id).toEqual({ format: 'iss_sub', iss: meta.issuer, sub: userId });
    expect(Object.keys(claims.events as object)).toEqual([`${CAEP}session-revoked`]);
    expect((claims.events as Record<string, { event_timestamp: number }>)[`${CAEP}session-revoked`]!.event_timestamp).toBeGreaterThan(0);
    // Not acknowledged: answered again; acknowledged: gone.
    expect(Object.keys((await poll()).sets)).toEqual([jti]);
    expect((await poll([jti])).sets).toEqual({});
  });

  it('a push stream delivers a verification event and, after a refused attempt, an account-disabled SET to a local HTTP receiver (RFC 8935)', async () => {
    const r = await call(token, 'POST', meta.configuration_endpoint, {
      delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: receiver.url, authorization_header: 'Bearer receiver-secret' }, events_requested: [`${RISC}account-disabled`],
    });
    expect(r.status).toBe(201);
    const stream = (await r.json()) as Stream;
    expect(stream.delivery).toEqual({ method: 'urn:ietf:rfc:8935', endpoint_url: receiver.url });
    expect((await call(token, 'POST', meta.verification_endpoint, { stream_id: stream.stream_id, state: 'check-1' })).status).toBe(204);
    const verified = await until(() => receiver.got, (g) => g.length > 0);
    expect(verified[0]!.headers['content-type']).toBe('application/secevent+jwt');
    expect(verified[0]!.headers.authorization).toBe('Bearer receiver-secret');
    const v = await verify(verified[0]!.set, t.adminClientId);
    expect(v.events).toEqual({ [VERIFICATION]: { state: 'check-1' } });
    expect(v.sub_id).toEqual({ format: 'opaque', id: stream.stream_id });

    // The receiver refuses the first attempt: the queue retries with backoff, the same SET arrives.
    receiver.failNext = 1;
    expect((await operator(t, 'PATCH', `/users/${userId}`, { accountEnabled: false })).status).toBe(204);
    const pushed = await until(() => receiver.got, (g) => g.length > 1);
    expect(receiver.refused).toEqual([pushed[1]!.set]);
    const d = await verify(pushed[1]!.set, t.adminClientId);
    expect(Object.keys(d.events as object)).toEqual([`${RISC}account-disabled`]);
    expect(d.sub_id).toEqual({ format: 'iss_sub', iss: meta.issuer, sub: userId });
  });

  it('refuses stream management without a token, and a tenant token without SSF.Streams.ReadWrite', async () => {
    expect((await fetch(meta.configuration_endpoint)).status).toBe(401);
    const other = await createTenant('weur');
    const foreign = await call(await adminToken(other), 'GET', meta.configuration_endpoint);
    expect(foreign.status).toBe(401);
    expect(((await foreign.json()) as { error: string }).error).toBe('invalid_token');
  });
});
