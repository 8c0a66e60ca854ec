/**
 * The token service's HTTP surface, Entra v2 URL shapes: `/{tenant}/v2.0/.well-known/...`,
 * `/{tenant}/discovery/v2.0/keys`, `/{tenant}/oauth2/v2.0/{token,authorize,logout,devicecode,deviceauth}`.
 * `{tenant}` is the tenant id or a verified domain. Thin: parse, route, answer.
 */
import { antiForgeryCookieName, readCookie } from '../core/token/anti-forgery.js';
import { openidConfiguration, openidConfigurationV1 } from '../core/token/discovery.js';
import { oauthErrorResponse, type OAuthReason } from '../core/token/oauth-errors.js';
import type { TokenCall } from '../durable-objects/replica-protocol.js';
import type { ClientLocation } from '../core/regions.js';
import { clientAddress, entryRegion } from './platform/client-region.js';
import { MAX_FORM_BYTES, readBodyWithin } from './platform/body-limit.js';
import { json, requestInfo, type RequestInfo } from './platform/http.js';
import { callToken, type RoutedToken } from './platform/token-calls.js';
import { callTokenWithTakeover } from './platform/backup-calls.js';
import { noteTakeover } from './platform/takeover-alerts.js';
import { beginFill, claimRefresh, endRefresh, fastPathKey, pendingFill, readSetEpoch, remember, replayClientCredentials, type EdgeTokenRequest } from './platform/token-fast-path.js';
import { caeEnforced, caeStateFor } from './platform/cae-state.js';
import { claimsWaitMs } from '../core/cae/claims-request.js';
import { lookupTenant, type TenantPlacement } from './platform/topology.js';
import { classifySignIn, classifyTokenReply, type Outcome, type SignInSummary } from '../core/outcomes/classify.js';
import { recordOutcome } from './platform/outcomes.js';
import { parseClientAuthentication } from '../core/token/client-auth.js';

type Routed = Request & { params?: Record<string, string> };
const UTF8 = new TextDecoder();
const TENANT_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;

export function oauthFailure(request: Request, info: RequestInfo, reason: OAuthReason, extra: { tenantId?: string; detail?: string } = {}, headers: Record<string, string> = {}): Response {
  const r = oauthErrorResponse(reason, { now: info.now, traceId: info.requestId, correlationId: info.clientRequestId, baseUrl: new URL(request.url).origin, ...extra });
  return json(r.body, r.status, { ...r.headers, 'request-id': info.requestId, ...headers });
}

async function tenantOf(request: Routed, env: Env, info: RequestInfo): Promise<TenantPlacement | Response> {
  const seg = request.params?.tenant ?? '';
  if (!TENANT_SEGMENT.test(seg)) return oauthFailure(request, info, 'unknown_tenant', { tenantId: seg.slice(0, 64) });
  const placement = await lookupTenant(env, seg);
  return placement ?? oauthFailure(request, info, 'unknown_tenant', { tenantId: seg });
}

/** Form parameters: the query for GET, an application/x-www-form-urlencoded body for POST (with its text). */
async function readParams(request: Request, url: () => URL): Promise<{ form: URLSearchParams; body: string } | 'too_large' | 'bad_content_type'> {
  if (request.method !== 'POST') return { form: url().searchParams, body: '' };
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return 'bad_content_type';
  const buf = await readBodyWithin(request, MAX_FORM_BYTES);
  if (buf === 'too_large') return 'too_large';
  const body = UTF8.decode(buf);
  return { form: new URLSearchParams(body), body };
}

/** `scheme://host[:port]` of a request URL, without parsing the whole URL (hot path). */
function originOf(url: string): string {
  const end = url.indexOf('/', url.indexOf('//') + 2);
  return end < 0 ? url : url.slice(0, end);
}

function clientOf(request: Request, env: Env, placement: TenantPlacement): TokenCall['client'] {
  // `request.cf` is materialised on every access: read it once.
  const cf = request.cf as (ClientLocation & { country?: string }) | undefined;
  return { ...clientAddress(request, env, cf), region: entryRegion(request, env, placement.cell.regions as never, cf) };
}

export async function discovery(request: Routed, env: Env): Promise<Response> {
  const info = requestInfo(request);
  const placement = await tenantOf(request, env, info);
  if (placement instanceof Response) return placement;
  return json(openidConfiguration(originOf(request.url), placement.tenant.id, request.params!.tenant!), 200, { 'Cache-Control': 'public, max-age=3600', 'Access-Control-Allow-Origin': '*' });
}

/** Entra's v1 metadata (`/{tenant}/.well-known/openid-configuration`): the v1 issuer of access tokens. */
export async function discoveryV1(request: Routed, env: Env): Promise<Response> {
  const info = requestInfo(request);
  const placement = await tenantOf(request, env, info);
  if (placement instanceof Response) return placement;
  return json(openidConfigurationV1(originOf(request.url), placement.tenant.id, request.params!.tenant!), 200, { 'Cache-Control': 'public, max-age=3600', 'Access-Control-Allow-Origin': '*' });
}

const OPS: Record<string, TokenCall['op']> = { keys: 'jwks', token: 'token', authorize: 'authorize', logout: 'logout', devicecode: 'devicecode', deviceauth: 'deviceauth', 'v2.0/adminconsent': 'adminconsent' };
const POST_ONLY = new Set(['token', 'devicecode']);

/** What one token-service request tells outcome recording (filled while it is served). */
interface Tally {
  tenantId?: string;
  cellId?: string;
  region?: () => string;
  /** An error answer's body (only error bodies are looked at). */
  body?: string;
  signIn?: SignInSummary;
  /** The client of a token request (form or Basic credentials), for a failure's impact. */
  clientId?: () => string | undefined;
}

/** The outcome of an authentication request (issue 16), or null for an endpoint that is none. */
function outcomeOf(op: TokenCall['op'] | undefined, method: string, status: number, tally: Tally): Outcome | null {
  if (op === 'token') return classifyTokenReply(status, status >= 200 && status < 300 ? '' : (tally.body ?? ''));
  if ((op === 'authorize' || op === 'deviceauth') && method === 'POST') return classifySignIn(status, tally.signIn);
  return null;
}

/**
 * Every per-tenant endpoint that needs the tenant's state goes through here, and it is the one
 * place the token service's outcomes are recorded (every grant, interactive sign-in).
 */
export async function tokenEndpoint(request: Routed, env: Env, ctx: ExecutionContext): Promise<Response> {
  const tally: Tally = {};
  const response = await serveToken(request, env, ctx, tally);
  if (tally.tenantId !== undefined && tally.region !== undefined) {
    const outcome = outcomeOf(OPS[request.params?.endpoint ?? 'keys'], request.method, response.status, tally);
    if (outcome !== null) recordOutcome(env, ctx, tally.tenantId, tally.region(), outcome, () => tally.signIn?.userId ?? tally.clientId?.());
    if (tally.cellId !== undefined) noteTakeover(env, ctx, tally.tenantId, tally.cellId, response.headers.get('tessera-served-by'), Date.now());
  }
  return response;
}

async function serveToken(request: Routed, env: Env, ctx: ExecutionContext, tally: Tally): Promise<Response> {
  const info = requestInfo(request);
  const name = request.params?.endpoint ?? 'keys';
  const op = OPS[name];
  if (op === undefined) return oauthFailure(request, info, 'not_found');
  if (request.method !== 'GET' && request.method !== 'POST') return oauthFailure(request, info, 'method_not_allowed', { detail: POST_ONLY.has(name) ? 'POST' : 'GET and POST' }, { Allow: POST_ONLY.has(name) ? 'POST' : 'GET, POST' });
  if (POST_ONLY.has(name) && request.method !== 'POST') return oauthFailure(request, info, 'method_not_allowed', { detail: 'POST' }, { Allow: 'POST' });
  const placement = await tenantOf(request, env, info);
  if (placement instanceof Response) return placement;
  let client: TokenCall['client'] | undefined;
  const clientOnce = () => (client ??= clientOf(request, env, placement));
  tally.tenantId = placement.tenant.id;
  tally.cellId = placement.cell.id;
  tally.region = () => clientOnce().region;
  let parsed: URL | undefined;
  const url = () => (parsed ??= new URL(request.url));
  const read = await readParams(request, url);
  if (read === 'bad_content_type') return oauthFailure(request, info, 'malformed_request', { tenantId: placement.tenant.id });
  if (read === 'too_large') return oauthFailure(request, info, 'request_too_large', { tenantId: placement.tenant.id, detail: String(MAX_FORM_BYTES) });
  tally.clientId = () => {
    const p = parseClientAuthentication({ authorization: request.headers.get('authorization'), form: read.form });
    return p.ok ? p.value.clientId : undefined;
  };
  const edge: EdgeTokenRequest = {
    tenantId: placement.tenant.id, origin: originOf(request.url), tenantSegment: request.params!.tenant!, authorization: request.headers.get('authorization'),
    traceId: info.requestId, correlationId: info.clientRequestId, client: clientOnce,
  };
  // A claims challenge replayed in its event's own second: issue once that second is over (core/cae).
  const wait = op === 'token' ? claimsWaitMs(read.form.get('claims') ?? undefined, Date.now()) : 0;
  if (wait > 0) await new Promise((done) => setTimeout(done, wait));
  const cacheKey = op === 'token' ? fastPathKey(edge, read.form, read.body) : undefined;
  // A fresh critical-event state first: an app event pulled now drops that tenant's read sets.
  if (cacheKey !== undefined && caeEnforced(env, request)) await caeStateFor(request, env, placement, (p) => ctx.waitUntil(p));
  if (cacheKey !== undefined) {
    let replayed = await replayClientCredentials(env, cacheKey, edge, read.form);
    const fill = replayed === undefined ? pendingFill(cacheKey) : undefined;
    if (fill !== undefined) {
      await fill;
      replayed = await replayClientCredentials(env, cacheKey, edge, read.form);
    }
    if (replayed !== undefined) {
      if (replayed.refreshDue && claimRefresh(cacheKey)) ctx.waitUntil(refreshReadSet(request, env, placement, tokenCall(request, env, info, edge, op, read.form, url, true), cacheKey));
      const headers = replayed.result.headers;
      headers['request-id'] = info.requestId;
      headers['tessera-served-by'] = 'edge';
      if (replayed.result.status !== 200) tally.body = replayed.result.body;
      return new Response(replayed.result.body, { status: replayed.result.status, headers });
    }
  }
  const call = tokenCall(request, env, info, edge, op, read.form, url, cacheKey !== undefined);
  const filled = cacheKey !== undefined ? beginFill(cacheKey) : undefined;
  const epoch = readSetEpoch(placement.tenant.id);
  let routed: RoutedToken;
  try {
    routed = await callTokenWithTakeover(request, env, placement, call, read.form);
    if (cacheKey !== undefined) rememberReply(env, cacheKey, placement, routed, epoch);
  } finally {
    filled?.();
  }
  const o = routed.outcome;
  if (o.kind !== 'reply') return oauthFailure(request, info, 'service_unavailable', { tenantId: placement.tenant.id }, { 'Retry-After': '2' });
  if (o.status !== 200) tally.body = o.body;
  if (o.signIn !== undefined) tally.signIn = o.signIn;
  return new Response(o.body === '' ? null : o.body, { status: o.status, headers: { ...o.headers, 'request-id': info.requestId, 'tessera-served-by': routed.region } });
}

/** The call for a replica; `wantReadSet` when its answer may fill the edge cache. */
function tokenCall(request: Request, env: Env, info: RequestInfo, edge: EdgeTokenRequest, op: TokenCall['op'], form: URLSearchParams, url: () => URL, wantReadSet: boolean): TokenCall {
  return {
    ...(op === 'authorize' || op === 'deviceauth' || op === 'adminconsent' ? { antiForgery: antiForgeryOf(request, env, edge.origin) } : {}),
    tenantId: edge.tenantId, op, method: request.method, origin: edge.origin, tenantSegment: edge.tenantSegment,
    params: [...form], authorization: edge.authorization, client: edge.client(),
    traceId: info.requestId, correlationId: info.clientRequestId, action: url().pathname, receivedAt: info.now,
    ...(wantReadSet ? { wantReadSet: true } : {}),
  };
}

/** The form endpoints' anti-forgery cookie: `__Host-` (Secure) over https and always in production. */
function antiForgeryOf(request: Request, env: Env, origin: string): NonNullable<TokenCall['antiForgery']> {
  const secure = origin.startsWith('https://') || env.TESSERA_ENV === 'production';
  const cookie = readCookie(request.headers.get('cookie'), antiForgeryCookieName(secure));
  return { secure, ...(cookie !== undefined ? { cookie } : {}) };
}

function rememberReply(env: Env, key: string, placement: TenantPlacement, routed: RoutedToken, epoch: number): void {
  const o = routed.outcome;
  if (o.kind === 'reply' && o.readSet !== undefined && o.status === 200) remember(env, key, placement.tenant.id, o.readSet, epoch);
}

/** Replaces a cache entry past half its life while it keeps serving (its token is discarded). */
async function refreshReadSet(request: Request, env: Env, placement: TenantPlacement, call: TokenCall, key: string): Promise<void> {
  const epoch = readSetEpoch(placement.tenant.id);
  try {
    rememberReply(env, key, placement, await callToken(request, env, placement, call), epoch);
  } catch (e) {
    console.warn('token cache refresh failed', e instanceof Error ? e.message : String(e));
  } finally {
    endRefresh(key);
  }
}
