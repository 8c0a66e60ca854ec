/**
 * `GET /admin/tenants/{tid}/feed?after={position}&limit={n}` (operator): the tenant's change
 * feed as records, oldest first, resumable from `next`; older records come from the archive.
 * For operators and tools (recovery, exports); tenants read it as directoryAudits and delta.
 */
import { MAX_FEED_PAGE } from '../core/feed/cursor.js';
import { isOperator } from './platform/auth.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { onPrimary } from './platform/cell-calls.js';
import { json, requestInfo } from './platform/http.js';
import { lookupTenant } from './platform/topology.js';

type Routed = Request & { params?: Record<string, string> };

export async function tenantFeed(request: Routed, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credentials are required.');
  const tid = request.params?.id ?? '';
  const placement = /^[A-Za-z0-9-]{1,64}$/.test(tid) ? await lookupTenant(env, tid) : null;
  if (placement === null) return oauthStyleError(info, 404, 'not_found', 'No such tenant.');
  const url = new URL(request.url);
  const after = Number(url.searchParams.get('after') ?? '0');
  const limit = Number(url.searchParams.get('limit') ?? '100');
  if (!Number.isSafeInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > MAX_FEED_PAGE) {
    return oauthStyleError(info, 400, 'invalid_request', `after must be a position ≥ 0 and limit 1–${MAX_FEED_PAGE}.`);
  }
  const routed = await onPrimary(env, placement.tenant.id, (stub, topology) => stub.feed(topology, placement.tenant.id, after, limit));
  const o = routed.outcome;
  if (o.kind === 'expired') return oauthStyleError(info, 410, 'expired', `Records after ${after} are past the feed's retention; the oldest kept is ${o.oldest}.`);
  if (o.kind !== 'page') return oauthStyleError(info, 503, 'temporarily_unavailable', 'The feed is unavailable; retry.', { 'Retry-After': '2' });
  return json({ records: o.records, next: o.next, more: o.more });
}
