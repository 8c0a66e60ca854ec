/**
 * Operator endpoints of backup (README "Backup and recovery"): `POST /admin/tenants/{id}/snapshots`
 * takes a snapshot now and answers it; `GET` lists the kept snapshots and the outcome of the
 * last scheduled attempt (a failed one says why). Tenants cannot create, alter or delete
 * snapshots: Graph only reads them.
 */
import { isOperator } from './platform/auth.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { onPrimary } from './platform/cell-calls.js';
import { json, requestInfo } from './platform/http.js';
import { lookupTenant } from './platform/topology.js';
import { snapshotJson } from '../core/recovery/snapshots.js';

type Routed = Request & { params?: Record<string, string> };

export async function tenantSnapshots(request: Routed, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credentials are required.');
  const tid = request.params?.id ?? '';
  const placement = /^[A-Za-z0-9-]{1,64}$/.test(tid) ? await lookupTenant(env, tid) : null;
  if (placement === null) return oauthStyleError(info, 404, 'not_found', 'No such tenant.');
  if (request.method === 'GET') {
    const routed = await onPrimary(env, tid, (stub, t) => stub.backupStatus(t, tid));
    const o = routed.outcome;
    if (o.kind !== 'status') return oauthStyleError(info, 503, 'temporarily_unavailable', 'The tenant cell is unavailable; retry.', { 'Retry-After': '2' });
    return json({ snapshots: o.snapshots.map((s) => ({ ...(snapshotJson(s) as object), objects: s.objects, bytes: s.bytes, chunks: s.chunks, feedPosition: s.seq })), lastAttempt: o.status });
  }
  const routed = await onPrimary(env, tid, (stub, t) => stub.snapshot(t, tid));
  const o = routed.outcome;
  if (o.kind !== 'snapshot') return oauthStyleError(info, 503, 'temporarily_unavailable', `The snapshot could not be written; retry later. ${'reason' in o ? o.reason : ''}`.trim(), { 'Retry-After': '5' });
  const s = o.snapshot;
  return json({ ...(snapshotJson(s) as object), objects: s.objects, bytes: s.bytes, chunks: s.chunks, feedPosition: s.seq }, 201);
}
