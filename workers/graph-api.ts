import { classifiedRequest, classify, graphErrorBody, type EdgeError, type GraphError } from '../core/directory/index.js';
import { BATCH_ROUTE_ID } from '../core/directory/router.js';
import { mintSecret, protectSecrets, revealSecret, withoutSecrets } from '../core/directory/secrets.js';
import { parseCertificates } from '../core/directory/key-credentials.js';
import { parseProof } from '../core/directory/key-proof.js';
import { sealedAad, type IdempotencyTicket } from '../core/idempotency.js';
import { seal, unseal } from '../core/token/secret-box.js';
import { isolateKeys } from './platform/isolate-keys.js';
import { authorizeSelfScope } from '../core/directory/delegated-access.js';
import { delegatedEdgeAccess } from '../core/directory/edge-roles.js';
import { hashPassword } from '../core/token/password.js';
import type { ReplicaPosition } from '../core/replication/replica-token.js';
import { decodeReplicaToken, encodeReplicaToken, importTokenKey } from '../core/replication/replica-token.js';
import type { GraphCaller, GraphOutcome } from '../durable-objects/replica-protocol.js';
import type { Json } from '../core/kv.js';
import { allowed, authenticate, type Principal } from './platform/auth.js';
import type { RequestInfo } from './platform/http.js';
import { graphError, json, readJsonBody, requestInfo } from './platform/http.js';
import { callPrimary, callNearest } from './platform/cell-calls.js';
import { ticketForKey } from './platform/idempotency.js';
import { serveBatch } from './graph-batch.js';
import { lookupTenant, type TenantPlacement } from './platform/topology.js';
import { forgetTenantReadSets } from './platform/token-fast-path.js';
import { handleReport } from './reports-api.js';
import { handleHealth } from './health-api.js';
import { subscribePermissions, validateNew } from '../core/notifications/subscriptions.js';
import { handshake } from './platform/delivery.js';
import { pokeReaders } from './platform/reader-pokes.js';
import { forgetLocationInputs } from './platform/location-policy.js';
import type { Classification } from '../core/directory/classify.js';

export const REPLICA_TOKEN_HEADER = 'tessera-replica-token';
/** On Graph reads: an upper bound, in ms, on how stale the answering replica is (core/replication/staleness.ts). */
export const STALENESS_HEADER = 'tessera-staleness-ms';

let tokenKey: { secret: string; key: Promise<CryptoKey> } | undefined;
function replicaTokenKey(env: Env): Promise<CryptoKey> {
  const secret = env.REPLICA_TOKEN_SECRET;
  if (tokenKey === undefined || tokenKey.secret !== secret) tokenKey = { secret, key: importTokenKey(secret) };
  return tokenKey.key;
}

function parseQuery(params: URLSearchParams): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const [k, v] of params) {
    if (Object.hasOwn(out, k)) return `Query option '${k}' was specified more than once.`;
    out[k] = v;
  }
  return out;
}

const VERSION = /^\/(v1\.0|beta)(?=\/|$)/;
const hash = (pw: string) => hashPassword(pw, (n) => crypto.getRandomValues(new Uint8Array(n)));

/** What one Graph request (direct, or one step of a `$batch`) brings besides the caller. */
export interface GraphCall {
  readonly method: string;
  /** The path after the version segment. */
  readonly path: string;
  readonly search: URLSearchParams;
  readonly header: (name: string) => string | null;
  /** Read only for writes (a direct request streams its body within the size limit). */
  readonly body: () => Promise<{ ok: true; body: unknown } | { ok: false; error: EdgeError | GraphError }>;
  /** The idempotency key the client gave this request (its `client-request-id`), if any. */
  readonly idempotencyKey: string | null;
}

/** Who calls and where their tenant lives: settled once per incoming request (a batch shares it). */
export interface GraphSession {
  readonly request: Request;
  readonly env: Env;
  readonly info: RequestInfo;
  readonly principal: Principal;
  readonly placement: TenantPlacement;
  readonly baseUrl: string;
  /** For background work after the answer (a change-notifier poke). */
  readonly ctx?: Pick<ExecutionContext, 'waitUntil'>;
}

export interface Served {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Json | undefined;
}

export const failed = (info: RequestInfo, error: GraphError | EdgeError, headers: Record<string, string> = {}): Served => {
  const { status, body } = graphErrorBody(error, info.requestId, info.now, info.clientRequestId);
  return { status, body, headers: { 'request-id': info.requestId, 'client-request-id': info.clientRequestId, 'content-type': 'application/json', ...headers } };
};

const toResponse = (s: Served): Response => json(s.body, s.status, s.headers);

/**
 * `/v1.0/*` and `/beta/*`: authenticate and find the tenant once, then serve the request, or
 * each request of a `$batch`, through `serve`.
 */
export async function handleGraph(request: Request, env: Env, ctx?: Pick<ExecutionContext, 'waitUntil'>): Promise<Response> {
  const info = requestInfo(request);
  const principal = await authenticate(request, env, ctx !== undefined ? (p) => ctx.waitUntil(p) : undefined);
  if (principal.kind === 'unauthorized') return graphError(info, principal, principal.challenge !== undefined ? { 'WWW-Authenticate': principal.challenge } : {});
  if (principal.tenantId === null) return graphError(info, { kind: 'bad_request', message: 'The tenant for this request could not be determined.' });
  const placement = await lookupTenant(env, principal.tenantId);
  if (placement === null) return graphError(info, { kind: 'unauthorized', message: 'The tenant for this token does not exist.' });

  const url = new URL(request.url);
  const version = VERSION.exec(url.pathname);
  if (version === null) return graphError(info, { kind: 'bad_request', message: 'Invalid version.' });
  const session: GraphSession = { request, env, info, principal, placement, baseUrl: `${url.origin}/${version[1]}`, ...(ctx !== undefined ? { ctx } : {}) };
  const call: GraphCall = {
    method: request.method, path: url.pathname.slice(version[0].length), search: url.searchParams,
    header: (name) => request.headers.get(name), body: () => readJsonBody(request), idempotencyKey: request.headers.get('client-request-id'),
  };
  return toResponse(await serve(session, call));
}

/**
 * One Graph request: classify it once (route, permission area, write or read, secret fields),
 * check the caller's permissions, hash secrets, and send the classified request to the right
 * replica. A `$batch` step comes through here exactly as a direct request does.
 */
async function serve(session: GraphSession, call: GraphCall, inBatch = false): Promise<Served> {
  const { env, info, principal, placement } = session;
  const tenantId = placement.tenant.id;
  const classified = classify(call.method, call.path, principal.userId);
  if (!classified.ok) return failed(info, classified.error);
  const c = classified.value;
  if (c.routeId === BATCH_ROUTE_ID) {
    // The batch needs no permission of its own: each of its requests is checked here, as a direct one.
    if (inBatch) return failed(info, { kind: 'bad_request', message: 'A $batch cannot contain another $batch.' });
    return serveBatch(session, call, (s, step) => serve(s, step, true));
  }
  const write = c.write;
  // Graph: an application rolls its own keys without any permission (the replica checks it is its own).
  const ownKeysOnly = !allowed(principal, c) && c.ownKeys && principal.kind === 'application' && principal.appId !== null ? principal.appId : undefined;
  if (!allowed(principal, c) && ownKeysOnly === undefined) return failed(info, { kind: 'forbidden', message: 'Insufficient privileges to complete the operation.' });
  const query = parseQuery(call.search);
  if (typeof query === 'string') return failed(info, { kind: 'bad_request', message: query });
  if (c.edge !== undefined) {
    // Edge-served routes read the incoming request itself: not inside a $batch.
    if (inBatch) return failed(info, { kind: 'bad_request', message: `The request '${c.path}' is not supported in a $batch.` });
    if (principal.kind === 'user') {
      const roles = delegatedEdgeAccess(c.area, c.write, principal.wids ?? []);
      if (!roles.ok) return failed(info, roles.error);
    }
    const origin = new URL(session.baseUrl).origin;
    return servedOf(await edgeRoute(session.request, info, env, tenantId, c, session.baseUrl.slice(origin.length + 1), origin));
  }
  const body = write ? await call.body() : { ok: true as const, body: undefined };
  if (!body.ok) return failed(info, body.error);
  if (principal.kind === 'user') {
    // What the scopes allow on the caller's own object, before any role is considered.
    const self = authorizeSelfScope(c, principal.scopes, body.body);
    if (!self.ok) return failed(info, self.error);
  }
  if (c.handshake === true) {
    const refused = await subscriptionPrecheck(env, info, principal, body.body);
    if (refused !== undefined) return servedOf(refused);
  }
  const protectedBody = await protectSecrets(c, body.body, hash);
  if (!protectedBody.ok) return failed(info, protectedBody.error);
  const eventual = call.header('consistencylevel')?.toLowerCase() === 'eventual';
  const graphRequest = classifiedRequest(c, protectedBody.value, query, session.baseUrl, call.header('if-match') ?? undefined, eventual);
  const prefer = call.header('prefer');
  if (prefer !== null) graphRequest.prefer = prefer;
  if (c.parsesCertificates) {
    const certificates = await parseCertificates(body.body);
    if (!certificates.ok) return failed(info, certificates.error);
    if (certificates.value !== undefined) graphRequest.certificates = certificates.value;
    const proof = await parseProof(body.body);
    if (!proof.ok) return failed(info, proof.error);
    if (proof.value !== undefined) graphRequest.proof = proof.value;
  }
  if (ownKeysOnly !== undefined) graphRequest.onlyOwnApp = ownKeysOnly;

  const key = await replicaTokenKey(env);
  let minPosition: ReplicaPosition | undefined;
  const presented = call.header(REPLICA_TOKEN_HEADER);
  if (presented !== null) {
    const decoded = await decodeReplicaToken(key, presented);
    if (decoded === undefined) return failed(info, { kind: 'bad_request', message: `The ${REPLICA_TOKEN_HEADER} header is not a valid replica token.` });
    // A token of another cell says nothing about this one (the tenant may have been elsewhere).
    if (decoded.cell === placement.cell.id) minPosition = decoded;
  }

  const caller = callerOf(principal);
  if (caller === null) return failed(info, { kind: 'unauthorized', message: 'Access token validation failure: no subject.' });
  // Exactly-once: every attempt of this write carries one ticket (workers/platform/idempotency.ts),
  // identified by the canonical route and the body without its secrets (no password digest is kept).
  const content = JSON.stringify([withoutSecrets(c, body.body) ?? null, graphRequest.query, graphRequest.ifMatch ?? null]);
  const idempotency = write ? await ticketForKey(call.idempotencyKey, c.method, { tenantId, route: c.path, caller: callerKey(caller), content }) : undefined;
  const box = () => isolateKeys.boxKey(env.KEY_ENCRYPTION_KEY);
  if (c.mintsSecret && idempotency !== undefined) {
    graphRequest.minted = await mintSecret(random, sealedAad(idempotency), async (plain, aad) => seal(await box(), plain, aad, random));
  }
  const replicaCall = {
    tenantId, request: graphRequest, caller, correlationId: info.clientRequestId,
    ...(minPosition !== undefined ? { minPosition } : {}), ...(idempotency !== undefined ? { idempotency } : {}),
  };
  const routed = write ? await callPrimary(env, tenantId, replicaCall) : await callNearest(session.request, env, placement, replicaCall);
  // A directory change (a credential, an app, a policy) is seen at once by this isolate's token cache.
  if (write) forgetTenantReadSets(tenantId);
  // A conditional access change is seen at once by this isolate's location enforcement (others within its TTL).
  if (write && c.area === 'conditionalAccess') forgetLocationInputs(tenantId);
  // The tenant's feed readers (webhook subscriptions, Shared Signals streams) hear of the change.
  if (write && session.ctx !== undefined && routed.outcome.kind === 'reply') pokeReaders(env, session.ctx, tenantId, c.area);
  const outcome = await withSecretShown(routed.outcome, idempotency, box);
  return respond(info, outcome, routed.region, key);
}

/** A Response made at the edge (reports, alerts, subscription checks) as a served reply. */
async function servedOf(r: Response): Promise<Served> {
  const text = await r.text();
  return { status: r.status, headers: Object.fromEntries(r.headers), body: text === '' ? undefined : (JSON.parse(text) as Json) };
}

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

/** Opens a minted secret into the reply (the original one on a replay); one that cannot be opened is a 409, never a guess. */
async function withSecretShown(outcome: GraphOutcome, ticket: IdempotencyTicket | undefined, box: () => Promise<CryptoKey>): Promise<GraphOutcome> {
  if (outcome.kind !== 'reply' || outcome.reply.sealedSecret === undefined) return outcome;
  const { sealedSecret, ...reply } = outcome.reply;
  const body = ticket === undefined ? undefined : await revealSecret(reply.body, sealedSecret, sealedAad(ticket), async (sealed, aad) => unseal(await box(), sealed, aad));
  if (body === undefined) return { kind: 'error', error: { kind: 'conflict', message: 'This request was already processed; its result is no longer available.' } };
  return { ...outcome, reply: { ...reply, body: body as Json } };
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

async function respond(info: RequestInfo, outcome: GraphOutcome, region: string, key: CryptoKey): Promise<Served> {
  const base = { 'request-id': info.requestId, 'client-request-id': info.clientRequestId, 'tessera-served-by': region };
  switch (outcome.kind) {
    case 'reply': {
      const headers: Record<string, string> = { ...base, ...(outcome.reply.body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...(outcome.reply.headers ?? {}) };
      if (outcome.position !== undefined) headers[REPLICA_TOKEN_HEADER] = await encodeReplicaToken(key, outcome.position);
      // A read: how stale the answering replica may be (it answers even when its region is cut off).
      if (outcome.stalenessMs !== undefined) headers[STALENESS_HEADER] = String(outcome.stalenessMs);
      return { status: outcome.reply.status, headers, body: outcome.reply.body };
    }
    case 'error':
      return failed(info, outcome.error, base);
    case 'not_primary':
    case 'unavailable':
    case 'behind':
      return failed(info, { kind: 'unavailable', message: 'The service is temporarily unable to make this change durable. Retry after the interval given.' }, { ...base, 'Retry-After': '2' });
  }
}
