/**
 * The Shared Signals transmitter's HTTP face (OpenID SSF 1.0; README "Shared Signals"): the
 * per-tenant metadata at `/.well-known/ssf-configuration/{tenantId}` (public) and the stream
 * management, status, subject, verification and RFC 8936 poll endpoints under
 * `/{tenantId}/ssf/`, each for a tenant token with the app role `SSF.Streams.ReadWrite`.
 * Thin: inputs are parsed by core/cae/ssf-streams.ts, state lives in the tenant's transmitter
 * object (durable-objects/ssf-transmitter.ts). Errors use the platform's OAuth error shape.
 */
import {
  newPushHeader, parsePollRequest, parseStatus, parseStreamInput, parseSubject, pushHeaderAad, PUSH, ssfUrls, streamView, transmitterMetadata,
  type SsfFailure, type StreamConfig, type StreamInput,
} from '../core/cae/ssf-streams.js';
import { seal } from '../core/token/secret-box.js';
import { isolateKeys } from './platform/isolate-keys.js';
import { SSF_STREAMS_ROLE_VALUE } from '../core/token/graph-resource.js';
import type { Result } from '../core/result.js';
import { ssfTransmitterStub, type Caller } from '../durable-objects/ssf-transmitter.js';
import { streamsChanged } from './platform/reader-pokes.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { bearer } from './platform/auth.js';
import { json, readJsonBody, requestInfo, type RequestInfo } from './platform/http.js';
import { authenticateBearer } from './platform/token-auth.js';
import { lookupTenant } from './platform/topology.js';
import { sha256b64url } from '../core/token/encoding.js';

type Routed = Request & { params: Record<string, string> };
const TENANT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NO_STORE = { 'Cache-Control': 'no-store' };

/** `GET /.well-known/ssf-configuration/{tenantId}` */
export async function ssfConfiguration(request: Routed, env: Env): Promise<Response> {
  const info = requestInfo(request);
  const tid = request.params.tenant ?? '';
  const placement = TENANT.test(tid) ? await lookupTenant(env, tid) : null;
  if (placement === null || placement.tenant.id !== tid) return oauthStyleError(info, 404, 'invalid_tenant', 'No transmitter for that tenant.');
  return json(transmitterMetadata(new URL(request.url).origin, tid), 200, { 'Cache-Control': 'public, max-age=300' });
}

const failure = (info: RequestInfo, f: SsfFailure): Response =>
  f.kind === 'not_found' ? oauthStyleError(info, 404, 'not_found', 'No such stream.')
    : f.kind === 'conflict' ? oauthStyleError(info, 409, 'conflict', f.message)
      : f.kind === 'too_soon' ? oauthStyleError(info, 429, 'slow_down', `At most one verification request every ${f.retryAfter} s.`, { 'Retry-After': String(f.retryAfter) })
        : oauthStyleError(info, 400, 'invalid_request', f.message);

/** The caller: a token of this tenant holding SSF.Streams.ReadWrite (RFC 6750 errors otherwise). */
async function caller(request: Request, env: Env, info: RequestInfo, tid: string, ctx: ExecutionContext): Promise<Caller | Response> {
  const token = bearer(request);
  const challenge = (error: string) => ({ 'WWW-Authenticate': `Bearer realm="tessera", error="${error}"` });
  if (token === null) return oauthStyleError(info, 401, 'invalid_token', 'A bearer token is required.', { 'WWW-Authenticate': 'Bearer realm="tessera"' });
  const p = await authenticateBearer(request, env, token, (x) => ctx.waitUntil(x));
  if (p.kind === 'unauthorized') return oauthStyleError(info, 401, 'invalid_token', p.message, p.challenge !== undefined ? { 'WWW-Authenticate': p.challenge } : challenge('invalid_token'));
  if (p.tenantId !== tid) return oauthStyleError(info, 401, 'invalid_token', 'The token was issued for another tenant.', challenge('invalid_token'));
  if (p.kind !== 'application' || p.appId === null || !p.roles.includes(SSF_STREAMS_ROLE_VALUE)) {
    return oauthStyleError(info, 403, 'insufficient_scope', `An application token with the role ${SSF_STREAMS_ROLE_VALUE} is required.`, challenge('insufficient_scope'));
  }
  return { tenantId: tid, origin: new URL(request.url).origin, owner: p.appId };
}

async function body(request: Request, info: RequestInfo): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const parsed = await readJsonBody(request);
  if (!parsed.ok) return { ok: false, response: oauthStyleError(info, parsed.error.kind === 'too_large' ? 413 : 400, 'invalid_request', parsed.error.message) };
  return { ok: true, value: parsed.body };
}

/** A push authorization header the body brought is sealed before it is stored (never kept in clear). */
async function sealed(env: Env, who: Caller, input: StreamInput, current?: StreamInput): Promise<StreamInput> {
  const plain = newPushHeader(input, current);
  if (plain === undefined || input.delivery.method !== PUSH) return input;
  const box = await isolateKeys.boxKey(env.KEY_ENCRYPTION_KEY);
  const header = await seal(box, plain, pushHeaderAad(who.tenantId, who.owner), (n) => crypto.getRandomValues(new Uint8Array(n)));
  return { ...input, delivery: { ...input.delivery, authorizationHeader: header } };
}

const streamIdOf = (v: unknown): string | null => (typeof v === 'string' && TENANT.test(v) ? v.toLowerCase() : null);

/** `/{tenantId}/ssf/{streams|status|subjects:add|subjects:remove|verify}` and `/{tenantId}/ssf/poll/{streamId}`. */
export async function ssfEndpoint(request: Routed, env: Env, ctx: ExecutionContext): Promise<Response> {
  const response = await serveSsf(request, env, ctx);
  // A stream or its subjects changed: this isolate pokes the transmitter after the next writes
  // (reader-pokes.ts). After the change, not before: a poke answered "idle" in between would
  // quiet the gate again just as the stream went live.
  if (request.method !== 'GET' && request.params.op !== 'poll' && response.status < 400) streamsChanged(request.params.tenant ?? '');
  return response;
}

async function serveSsf(request: Routed, env: Env, ctx: ExecutionContext): Promise<Response> {
  const info = requestInfo(request);
  const tid = request.params.tenant ?? '';
  const op = request.params.op ?? '';
  if (!TENANT.test(tid) || !['streams', 'status', 'subjects:add', 'subjects:remove', 'verify', 'poll'].includes(op)) return oauthStyleError(info, 404, 'not_found', 'No such endpoint.');
  const allowed = op === 'streams' ? ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'] : op === 'status' ? ['GET', 'POST'] : ['POST'];
  if (!allowed.includes(request.method)) return oauthStyleError(info, 405, 'invalid_request', `Use ${allowed.join(' or ')}.`, { Allow: allowed.join(', ') });
  const who = await caller(request, env, info, tid, ctx);
  if (who instanceof Response) return who;
  const stub = ssfTransmitterStub(env, tid);
  const urls = ssfUrls(who.origin, tid);
  const view = (s: StreamConfig) => streamView(s, urls);
  const production = env.TESSERA_ENV === 'production';
  const query = new URL(request.url).searchParams;
  const answer = <T>(r: Result<T, SsfFailure>, ok: (v: T) => Response): Response => (r.ok ? ok(r.value) : failure(info, r.error));

  if (op === 'poll') {
    const id = streamIdOf(request.params.stream);
    if (id === null) return failure(info, { kind: 'not_found' });
    const b = await body(request, info);
    if (!b.ok) return b.response;
    const req = parsePollRequest(b.value);
    if (!req.ok) return failure(info, req.error);
    return answer(await stub.poll(who, id, req.value), (v) => json(v, 200, NO_STORE));
  }
  if (op === 'streams' && (request.method === 'GET' || request.method === 'DELETE')) {
    const raw = query.get('stream_id');
    const id = raw === null ? null : streamIdOf(raw);
    if (raw !== null && id === null) return failure(info, { kind: 'not_found' });
    if (request.method === 'GET') return answer(await stub.list(who, id), (list) => json(id === null ? list.map(view) : view(list[0]!), 200, NO_STORE));
    if (id === null) return failure(info, { kind: 'bad_request', message: 'stream_id is required.' });
    return answer(await stub.remove(who, id), () => new Response(null, { status: 204 }));
  }
  if (op === 'status' && request.method === 'GET') {
    const id = streamIdOf(query.get('stream_id'));
    if (id === null) return failure(info, { kind: 'bad_request', message: 'stream_id is required.' });
    return answer(await stub.list(who, id), ([s]) => json({ stream_id: s!.id, status: s!.status, ...(s!.reason !== undefined ? { reason: s!.reason } : {}) }, 200, NO_STORE));
  }
  const b = await body(request, info);
  if (!b.ok) return b.response;
  const v = (typeof b.value === 'object' && b.value !== null && !Array.isArray(b.value) ? b.value : {}) as Record<string, unknown>;
  if (op === 'streams' && request.method === 'POST') {
    const input = parseStreamInput(b.value, { production, defaultAud: who.owner });
    if (!input.ok) return failure(info, input.error);
    // A retry with the same client-request-id gets the same stream (durable-objects/ssf-transmitter.ts).
    const key = request.headers.get('client-request-id');
    // Retries compare a hash of the body as given: sealing draws a fresh nonce each time.
    const fingerprint = await sha256b64url(JSON.stringify(input.value));
    const retryKey = key !== null && key.length > 0 && key.length <= 128 ? key : null;
    return answer(await stub.create(who, await sealed(env, who, input.value), retryKey, Date.now(), fingerprint), (s) => json(view(s), 201, NO_STORE));
  }
  const id = streamIdOf(v.stream_id);
  if (id === null) return failure(info, { kind: 'bad_request', message: 'stream_id is required.' });
  if (op === 'streams') {
    // PATCH changes the members given; PUT replaces the whole configuration.
    const current = await stub.list(who, id);
    if (!current.ok) return failure(info, current.error);
    const { stream_id: _id, ...rest } = v;
    const input = parseStreamInput(rest, { production, defaultAud: who.owner, ...(request.method === 'PATCH' ? { current: current.value[0]! } : {}) });
    if (!input.ok) return failure(info, input.error);
    return answer(await stub.update(who, id, await sealed(env, who, input.value, current.value[0])), (s) => json(view(s), 200, NO_STORE));
  }
  if (op === 'status') {
    const st = parseStatus(v);
    if (!st.ok) return failure(info, st.error);
    return answer(await stub.setStatus(who, id, st.value.status, st.value.reason), (s) => json({ stream_id: s.id, status: s.status, ...(s.reason !== undefined ? { reason: s.reason } : {}) }, 200, NO_STORE));
  }
  if (op === 'verify') {
    if (v.state !== undefined && (typeof v.state !== 'string' || v.state.length > 1024)) return failure(info, { kind: 'bad_request', message: 'state must be a string.' });
    return answer(await stub.verify(who, id, v.state as string | undefined, Date.now()), () => new Response(null, { status: 204 }));
  }
  const subject = parseSubject(v.subject, urls.issuer);
  if (!subject.ok) return failure(info, subject.error);
  // SSF 1.0 §8.1.3: 200 for an added subject, 204 for a removed one.
  return answer(await stub.subject(who, id, subject.value.key, op === 'subjects:add'), () => new Response(null, { status: op === 'subjects:add' ? 200 : 204 }));
}
