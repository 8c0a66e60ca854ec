/**
 * Operator endpoints of the backup authentication system (issue 14):
 * `POST /admin/backup-auth/drill {tenantId, minutes}` forces the backup path for a tenant (a
 * monthly exercise in Entra; minutes 0 ends it), `GET /admin/backup-auth` shows the edge's
 * takeover state (per cell: mode, since when, requests the backup path answered; drills) and
 * each region's backup store (per tenant: artifacts, tokens served and refused, rotations
 * awaiting adoption, key publication, learning and revocation lag).
 */
import { parseDrill } from '../core/backup-auth/takeover.js';
import { parseRegionList } from '../core/regions.js';
import { backupService } from '../durable-objects/backup-learning.js';
import { oauthStyleError } from './platform/admin-errors.js';
import { isOperator } from './platform/auth.js';
import { setDrill, takeoverState } from './platform/backup-calls.js';
import { lookupTenant } from './platform/topology.js';
import { json, readJsonBody, requestInfo } from './platform/http.js';

const STATS_TIMEOUT_MS = 3_000;

export async function backupDrill(request: Request, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  const backup = backupService(env);
  if (backup === undefined) return oauthStyleError(info, 409, 'invalid_request', 'No backup authentication Worker is bound (BACKUP).');
  const body = await readJsonBody(request);
  if (!body.ok) return oauthStyleError(info, 400, 'invalid_request', body.error.message);
  const drill = parseDrill(body.body, info.now);
  if (typeof drill === 'string') return oauthStyleError(info, 400, 'invalid_request', drill);
  const placement = await lookupTenant(env, drill.tenantId).catch(() => undefined);
  if (placement === undefined) return oauthStyleError(info, 503, 'temporarily_unavailable', 'The tenant\'s placement could not be read; the drill is not set. Retry.');
  if (placement === null) return oauthStyleError(info, 404, 'invalid_request', `Tenant '${drill.tenantId}' not found.`);
  // Kept in the tenant's backup store, so every edge isolate sees it and it outlives this one. Setting it twice is harmless.
  const until = await setDrill(backup, placement, drill).catch(() => undefined);
  if (until === undefined) return oauthStyleError(info, 503, 'temporarily_unavailable', 'The tenant\'s backup store could not be reached; the drill is not set. Retry.');
  return json({ tenantId: drill.tenantId, until: new Date(until ?? drill.until).toISOString(), active: until !== null });
}

export async function backupState(request: Request, env: Env): Promise<Response> {
  const info = requestInfo(request);
  if (!(await isOperator(request, env))) return oauthStyleError(info, 401, 'invalid_client', 'Operator credential missing or invalid.');
  const backup = backupService(env);
  const regions = parseRegionList(env.REGIONS);
  const stores = backup === undefined ? [] : await Promise.all(regions.map(async (region) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), STATS_TIMEOUT_MS)));
    const stats = await Promise.race([backup.stats(region).catch(() => null), timeout]).finally(() => clearTimeout(timer));
    return stats ?? { region, unreachable: true };
  }));
  return json({ bound: backup !== undefined, edge: takeoverState(info.now), stores: stores.filter((s) => !('tenants' in s) || s.tenants.length > 0 || s.drills.length > 0) });
}
