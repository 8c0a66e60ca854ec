/**
 * `DELETE /admin/tenants/{id}` (operator): deletes a tenant for good (core/tenant-deletion.ts).
 * The control cell hides it first (a tombstone every control copy pulls at once; every edge
 * refuses it once its 30 s placement cache expires; the cell refuses at once after the next step), then the cell's primary commits the
 * deletion marker and its alarm purges the tenant's snapshots, feed archive and cell keys.
 * Answers 202 while the purge runs and 200 once it is done, with its progress; a repeat is safe
 * at any point and is how an operator follows the purge. 503 + Retry-After when the cell did not
 * take the marker: the tenant is already unreachable, and repeating the request finishes it.
 */
import { isOperator } from './platform/auth.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { onCellPrimary } from './platform/cell-calls.js';
import { json, requestInfo } from './platform/http.js';
import { lookupTenant } from './platform/topology.js';
import { cellAsKnown, controlWriteImported, syncCopies } from './platform/control-calls.js';
import type { CellRecord } from '../durable-objects/control-records.js';
import type { TenantDeletion } from '../core/tenant-deletion.js';

type Routed = Request & { params?: Record<string, string> };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function deletionJson(tid: string, d: TenantDeletion) {
  return {
    id: tid,
    status: d.purgedAt === null ? 'deleting' : 'deleted',
    requestedDateTime: iso(d.requestedAt),
    purgedDateTime: iso(d.purgedAt),
    objectStorageObjectsDeleted: d.objectsDeleted,
    cellKeysDeleted: d.keysDeleted,
    failures: d.failures,
    lastError: d.lastError,
  };
}

export async function deleteTenant(request: Routed, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credentials are required.');
  const tid = request.params?.id ?? '';
  if (!/^[A-Za-z0-9-]{1,64}$/.test(tid)) return oauthStyleError(info, 404, 'not_found', 'No such tenant.');
  // A write at the control cell's primary (core/control/plans.ts), wherever a failover put it; a repeat answers the same record.
  // Before `global`'s old tables are imported the tenant may be one of them: the import runs first.
  const marked = await controlWriteImported(env, { op: 'delete', tenantId: tid, now: info.now });
  if (marked === undefined) return oauthStyleError(info, 503, 'temporarily_unavailable', 'The control plane is unavailable; retry.', { 'Retry-After': '5' });
  const m = marked.reply;
  if (m.kind === 'not_found') return oauthStyleError(info, 404, 'not_found', 'No such tenant.');
  if (m.kind === 'conflict') return oauthStyleError(info, 409, 'invalid_request', 'The tenant is still being provisioned; retry once it is.');
  if (m.kind !== 'deleted') return oauthStyleError(info, 503, 'temporarily_unavailable', 'The control plane is unavailable; retry.', { 'Retry-After': '5' });
  // Every control copy learns the tombstone now (it stops answering for the tenant); this isolate forgets the placement (others within their cache's 30 s; the cell refuses meanwhile).
  await syncCopies(env, marked.pos);
  await lookupTenant(env, tid, true).catch(() => undefined);
  // Each retry of the routing asks the control copies again for the cell's current primary.
  let known: CellRecord | undefined;
  const routed = await onCellPrimary(
    env,
    async (fresh) => (known = fresh || known === undefined ? await cellAsKnown(env, known ?? m.cell) : known),
    (stub, t) => stub.deleteTenant(t, tid),
    (cell, newer) => (known = { ...cell, primaryRegion: newer.primaryRegion as CellRecord['primaryRegion'], epoch: newer.epoch }),
  );
  const o = routed.outcome;
  if (o.kind !== 'deletion') return oauthStyleError(info, 503, 'temporarily_unavailable', 'The tenant is unreachable, but its cell did not record the deletion; retry to finish it.', { 'Retry-After': '5' });
  return json(deletionJson(tid, o.deletion), o.deletion.purgedAt === null ? 202 : 200, { 'request-id': info.requestId, 'Cache-Control': 'no-store' });
}
