/**
 * Operator endpoints of the token service: on-demand rotation, emergency revocation,
 * client credentials and Graph role grants, per-user MFA and token lifetimes. All writes,
 * so all go to the tenant's primary through the token RPC.
 */
import type { Json } from '../core/kv.js';
import type { TokenCall } from '../durable-objects/replica-protocol.js';
import { isOperator } from './platform/auth.js';
import { readJsonBody, requestInfo } from './platform/http.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { callToken } from './platform/token-calls.js';
import { forgetTenantReadSets } from './platform/token-fast-path.js';
import { forgetTenantKeys } from './platform/token-auth.js';
import { lookupTenant } from './platform/topology.js';

type Routed = Request & { params?: Record<string, string> };

function opOf(request: Routed): { op: TokenCall['op']; params: Array<[string, string]> } | undefined {
  const p = request.params ?? {};
  const path = new URL(request.url).pathname;
  if (request.method === 'POST' && path.endsWith('/keys/rotate')) return { op: 'rotate', params: [] };
  if (request.method === 'POST' && p.kid !== undefined && path.endsWith('/revoke')) return { op: 'revoke_key', params: [['kid', p.kid]] };
  if (request.method === 'POST' && path.endsWith('/credentials')) return { op: 'add_credential', params: [] };
  if (request.method === 'PUT' && p.userId !== undefined && path.endsWith('/mfa')) return { op: 'set_mfa', params: [['userId', p.userId]] };
  if (request.method === 'PUT' && path.endsWith('/token-settings')) return { op: 'set_settings', params: [] };
  return undefined;
}

export async function tenantTokenAdmin(request: Routed, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  const which = opOf(request);
  if (!which) return oauthStyleError(info, 405, 'invalid_request', 'Method not allowed here.');
  const placement = await lookupTenant(env, request.params?.id ?? '');
  if (placement === null) return oauthStyleError(info, 404, 'not_found', 'No such tenant.');
  const body = await readJsonBody(request);
  if (!body.ok) return oauthStyleError(info, 400, 'invalid_request', body.error.message);
  const url = new URL(request.url);
  const call: TokenCall = {
    tenantId: placement.tenant.id, op: which.op, method: request.method, origin: url.origin, tenantSegment: placement.tenant.id, params: which.params,
    authorization: null, client: { ip: '0.0.0.0', country: null, region: placement.cell.primaryRegion }, traceId: info.requestId, correlationId: info.clientRequestId,
    receivedAt: info.now, ...(body.body !== undefined ? { body: body.body as Json } : {}),
  };
  const routed = await callToken(request, env, placement, call);
  if (which.op === 'revoke_key' || which.op === 'rotate' || which.op === 'add_credential') {
    forgetTenantKeys(placement.tenant.id);
    forgetTenantReadSets(placement.tenant.id);
  }
  const o = routed.outcome;
  if (o.kind !== 'reply') return oauthStyleError(info, 503, 'temporarily_unavailable', 'The change could not be made durable; retry later.', { 'Retry-After': '2' });
  return new Response(o.body, { status: o.status, headers: { ...o.headers, 'request-id': info.requestId } });
}

