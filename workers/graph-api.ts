import { classifiedRequest, classify } from '../core/directory/index.js';
import { protectSecrets, withoutSecrets } from '../core/directory/secrets.js';
import { authorizeSelfScope } from '../core/directory/delegated-access.js';
import { hashPassword } from '../core/token/password.js';
import type { ReplicaPosition } from '../core/replication/replica-token.js';
import { decodeReplicaToken, encodeReplicaToken, importTokenKey } from '../core/replication/replica-token.js';
import type { GraphCaller, GraphOutcome } from '../durable-objects/replica-protocol.js';
import { allowed, authenticate, type Principal } from './platform/auth.js';
import type { RequestInfo } from './platform/http.js';
import { graphError, json, readJsonBody, requestInfo } from './platform/http.js';
import { callPrimary, callNearest } from './platform/cell-calls.js';
import { ticketFor } from './platform/idempotency.js';
import { lookupTenant } from './platform/topology.js';
import { forgetTenantReadSets } from './platform/token-fast-path.js';
import { handleReport } from './reports-api.js';
import { handleHealth } from './health-api.js';
import { subscribePermissions, validateNew } from '../core/notifications/subscriptions.js';
import { handshake } from './platform/delivery.js';
import { changeNotifierStub } from '../durable-objects/change-notifier.js';
import type { Classification } from '../core/directory/classify.js';

export const REPLICA_TOKEN_HEADER = 'tessera-replica-token';

let tokenKey: { secret: string; key: Promise<CryptoKey> } | undefined;
function replicaTokenKey(env: Env): Promise<CryptoKey> {
  const secret = env.REPLICA_TOKEN_SECRET;
  if (tokenKey === undefined || tokenKey.secret !== secret) tokenKey = { secret, key: importTokenKey(secret) };
  return tokenKey.key;
}

function parseQuery(url: URL): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    if (Object.hasOwn(out, k)) return `Query option '${k}' was specified more than once.`;
    out[k] = v;
  }
  return out;
}

const NOTIFYING_AREAS = new Set(['users', 'me', 'groups']);
const VERSION = /^\/(v1\.0|beta)(?=\/|$)/;
const hash = (pw: string) => hashPassword(pw, (n) => crypto.getRandomValues(new Uint8Array(n)));

/**
 * `/v1.0/*` and `/beta/*`: authenticate, classify the request once (route, permission area,
 * write or read, secret fields), check the caller's permissions, hash secrets, and send the
 * classified request to the right replica.
 */
export async function handleGraph(request: Request, env: Env, ctx?: Pick<ExecutionContext, 'waitUntil'>): Promise<Response> {
  const info = requestInfo(request);
  const principal = await authenticate(request, env);
  if (principal.kind === 'unauthorized') return graphError(info, principal);
  if (principal.tenantId === null) return graphError(info, { kind: 'bad_request', message: 'The tenant for this request could not be determined.' });
  const placement = await lookupTenant(env, principal.tenantId);
  if (placement === null) return graphError(info, { kind: 'unauthorized', message: 'The tenant for this token does not exist.' });
  const tenantId = placement.tenant.id;

  const url = new URL(request.url);
  const version = VERSION.exec(url.pathname);
  if (version === null) return graphError(info, { kind: 'bad_request', message: 'Invalid version.' });
  const classified = classify(request.method, url.pathname.slice(version[0].length), principal.userId);
  if (!classified.ok) return graphError(info, classified.error);
  const c = classified.value;
  const write = c.write;
  if (!allowed(principal, c)) return graphError(info, { kind: 'forbidden', message: 'Insufficient privileges to complete the operation.' });
  const query = parseQuery(url);
  if (typeof query === 'string') return graphError(info, { kind: 'bad_request', message: query });
  if (c.edge !== undefined) return edgeRoute(request, info, env, tenantId, c, version[1]!, url.origin);
  const body = write ? await readJsonBody(request) : { ok: true as const, body: undefined };
  if (!body.ok) return graphError(info, body.error);
  if (principal.kind === 'user') {
    // What the scopes allow on the caller's own object, before any role is considered.
    const self = authorizeSelfScope(c, principal.scopes, body.body);
    if (!self.ok) return graphError(info, self.error);
  }
  if (c.handshake === true) {
    const refused = await subscriptionPrecheck(env, info, principal, body.body);
    if (refused !== undefined) return refused;
  }
  const protectedBody = await protectSecrets(c, body.body, hash);
  if (!protectedBody.ok) return graphError(info, protectedBody.error);
  const graphRequest = classifiedRequest(c, protectedBody.value, query, `${url.origin}/${version[1]}`, request.headers.get('if-match') ?? undefined);

  const key = await replicaTokenKey(env);
  let minPosition: ReplicaPosition | undefined;
  const presented = request.headers.get(REPLICA_TOKEN_HEADER);
  if (presented !== null) {
    const decoded = await decodeReplicaToken(key, presented);
    if (decoded === undefined) return graphError(info, { kind: 'bad_request', message: `The ${REPLICA_TOKEN_HEADER} header is not a valid replica token.` });
    // A token of another cell says nothing about this one (the tenant may have been elsewhere).
    if (decoded.cell === placement.cell.id) minPosition = decoded;
  }

  const caller = callerOf(principal);
  if (caller === null) return graphError(info, { kind: 'unauthorized', message: 'Access token validation failure: no subject.' });
  // Exactly-once: every attempt of this write carries one ticket (workers/platform/idempotency.ts),
  // identified by the canonical route and the body without its secrets (no password digest is kept).
  const content = JSON.stringify([withoutSecrets(c, body.body) ?? null, graphRequest.query, graphRequest.ifMatch ?? null]);
  const idempotency = write ? await ticketFor(request, { tenantId, route: c.path, caller: callerKey(caller), content }) : undefined;
  const call = {
    tenantId, request: graphRequest, caller, correlationId: info.clientRequestId,
    ...(minPosition !== undefined ? { minPosition } : {}), ...(idempotency !== undefined ? { idempotency } : {}),
  };
  const routed = write ? await callPrimary(env, tenantId, call) : await callNearest(request, env, placement, call);
  // A directory change (a credential, an app, a policy) is seen at once by this isolate's token cache.
  if (write) forgetTenantReadSets(tenantId);
  // Users and groups changes: the tenant's change notifier reads the feed (webhook subscriptions).
  if (write && ctx !== undefined && (NOTIFYING_AREAS.has(c.area) || c.area === 'subscriptions') && routed.outcome.kind === 'reply') {
    const poke = changeNotifierStub(env, tenantId).poke(tenantId, c.area === 'subscriptions');
    ctx.waitUntil(poke.catch((e: unknown) => console.warn('change notifier poke failed', e instanceof Error ? e.message : String(e))));
  }
  return respond(info, routed.outcome, routed.region, key);
}

/**
 * A subscription POST before it is written: the whole body (SSRF rule included), the
 * resource's own permission for an app caller, then the validation handshake with the
 * notification URL (and the lifecycle URL), as Graph does: 400 if a receiver fails it.
 */
async function subscriptionPrecheck(env: Env, info: RequestInfo, principal: Principal, body: unknown): Promise<Response | undefined> {
  const v = validateNew(body, info.now, env.TESSERA_ENV === 'production');
  if (!v.ok) return graphError(info, v.error);
  if (principal.kind === 'application' && !principal.roles.some((r) => subscribePermissions(v.value.resource).includes(r))) {
    return graphError(info, { kind: 'forbidden', message: `Insufficient privileges to subscribe to '${v.value.resource}'.` });
  }
  for (const url of [v.value.notificationUrl, v.value.lifecycleNotificationUrl]) {
    if (url !== null && !(await handshake(env, url))) {
      return graphError(info, { kind: 'bad_request', code: 'ValidationError', message: 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.' });
    }
  }
  return undefined;
}

/** A route served at the edge (core/directory/router.ts `edge`), not by the tenant's cell. */
function edgeRoute(request: Request, info: RequestInfo, env: Env, tenantId: string, c: Classification, version: string, origin: string): Promise<Response> {
  if (c.edge!.betaOnly === true && version !== 'beta') {
    return Promise.resolve(graphError(info, { kind: 'bad_request', message: `Resource not found for the segment '${c.path.split('/')[1] ?? ''}'.`, code: 'BadRequest' }));
  }
  switch (c.edge!.service) {
    case 'slaAttainment':
    case 'serviceActivityMetric':
      return handleReport(info, env, tenantId, c, `${origin}/${version}`);
    default:
      return handleHealth(request, info, env, tenantId, c, origin);
  }
}

/** Who the replica is told makes the call; a token without the identity its kind needs is refused (fails closed). */
function callerOf(p: Principal): GraphCaller | null {
  if (p.kind === 'operator') return { kind: 'operator' };
  if (p.kind === 'user') return p.userId === null ? null : { kind: 'user', userId: p.userId };
  return p.appId === null ? null : { kind: 'application', appId: p.appId };
}

/** Who a write's idempotency key belongs to: the principal, not its (refreshable) token. */
const callerKey = (c: GraphCaller): string => (c.kind === 'user' ? `user:${c.userId}` : c.kind === 'application' ? `app:${c.appId}` : 'operator');

async function respond(info: RequestInfo, outcome: GraphOutcome, region: string, key: CryptoKey): Promise<Response> {
  const base = { 'request-id': info.requestId, 'client-request-id': info.clientRequestId, 'tessera-served-by': region };
  switch (outcome.kind) {
    case 'reply': {
      const headers: Record<string, string> = { ...base, ...(outcome.reply.headers ?? {}) };
      if (outcome.position !== undefined) headers[REPLICA_TOKEN_HEADER] = await encodeReplicaToken(key, outcome.position);
      return json(outcome.reply.body, outcome.reply.status, headers);
    }
    case 'error':
      return graphError(info, outcome.error, base);
    case 'not_primary':
    case 'unavailable':
    case 'behind':
      return graphError(info, { kind: 'unavailable', message: 'The service is temporarily unable to make this change durable. Retry after the interval given.' }, { ...base, 'Retry-After': '2' });
  }
}
