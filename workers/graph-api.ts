import type { GraphRequest } from '../core/directory/index.js';
import { isWrite } from '../core/directory/index.js';
import type { ReplicaPosition } from '../core/replication/replica-token.js';
import { decodeReplicaToken, encodeReplicaToken, importTokenKey } from '../core/replication/replica-token.js';
import type { GraphOutcome } from '../durable-objects/replica-protocol.js';
import { allowed, authenticate } from './platform/auth.js';
import type { RequestInfo } from './platform/http.js';
import { graphError, json, readJsonBody, requestInfo } from './platform/http.js';
import { callPrimary, callNearest } from './platform/cell-calls.js';
import { ticketFor } from './platform/idempotency.js';
import { lookupTenant } from './platform/topology.js';
import { forgetTenantReadSets } from './platform/token-fast-path.js';

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

/** `/v1.0/*`: authenticate, find the tenant's cell, and send the call to the right replica. */
export async function handleGraph(request: Request, env: Env): Promise<Response> {
  const info = requestInfo(request);
  const principal = await authenticate(request, env);
  if (principal.kind === 'unauthorized') return graphError(info, principal);
  if (principal.tenantId === null) return graphError(info, { kind: 'bad_request', message: 'The tenant for this request could not be determined.' });
  const placement = await lookupTenant(env, principal.tenantId);
  if (placement === null) return graphError(info, { kind: 'unauthorized', message: 'The tenant for this token does not exist.' });
  const tenantId = placement.tenant.id;

  const url = new URL(request.url);
  const query = parseQuery(url);
  if (typeof query === 'string') return graphError(info, { kind: 'bad_request', message: query });
  const body = request.method === 'GET' || request.method === 'HEAD' ? { ok: true as const, body: undefined } : await readJsonBody(request);
  if (!body.ok) return graphError(info, body.error);
  const graphRequest: GraphRequest = {
    method: request.method,
    path: url.pathname.slice('/v1.0'.length) || '/',
    query,
    body: body.body,
    baseUrl: `${url.origin}/v1.0`,
    ...(request.headers.get('if-match') !== null ? { ifMatch: request.headers.get('if-match')! } : {}),
  };
  const write = isWrite(graphRequest);
  if (!allowed(principal, graphRequest.path, write)) {
    return graphError(info, { kind: 'forbidden', message: 'Insufficient privileges to complete the operation.' });
  }

  const key = await replicaTokenKey(env);
  let minPosition: ReplicaPosition | undefined;
  const presented = request.headers.get(REPLICA_TOKEN_HEADER);
  if (presented !== null) {
    const decoded = await decodeReplicaToken(key, presented);
    if (decoded === undefined) return graphError(info, { kind: 'bad_request', message: `The ${REPLICA_TOKEN_HEADER} header is not a valid replica token.` });
    // A token of another cell says nothing about this one (the tenant may have been elsewhere).
    if (decoded.cell === placement.cell.id) minPosition = decoded;
  }

  // Exactly-once: every attempt of this write carries one ticket (workers/platform/idempotency.ts).
  const idempotency = write ? await ticketFor(request, { tenantId, route: graphRequest.path, content: JSON.stringify([graphRequest.body ?? null, graphRequest.query, graphRequest.ifMatch ?? null]) }) : undefined;
  const call = { tenantId, request: graphRequest, ...(minPosition !== undefined ? { minPosition } : {}), ...(idempotency !== undefined ? { idempotency } : {}) };
  const routed = write ? await callPrimary(env, tenantId, call) : await callNearest(request, env, placement, call);
  // A directory change (a credential, an app, a policy) is seen at once by this isolate's token cache.
  if (write) forgetTenantReadSets(tenantId);
  return respond(info, routed.outcome, routed.region, key);
}

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
