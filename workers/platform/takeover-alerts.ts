/**
 * The edge's report of a backup-auth takeover to the tenant's health monitor (a
 * `backupAuthTakeover` alert, issue 16): a token-service answer from the backup path (served, or
 * refused because the cell is in backup mode or under a drill). Off the request path
 * (`waitUntil`), at most once a minute per tenant per isolate. A report that fails (monitor down
 * or slow) is forgotten, so the next backup answer for the tenant reports again; a report that
 * lands twice only moves the alert's `lastSeen` (core/health/incidents.ts).
 */
import type { Incident } from '../../core/health/incidents.js';
import { healthMonitorStub } from '../../durable-objects/health-monitor.js';

const REPORT_EVERY_MS = 60_000;
const MAX_TRACKED = 10_000;
const reported = new Map<string, number>();

/** `servedBy`: the answer's `tessera-served-by` (`backup` or `backup:{region}` for the backup path). */
export function noteTakeover(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>, tenantId: string, cellId: string, servedBy: string | null, now: number): void {
  if (servedBy === null || !(servedBy === 'backup' || servedBy.startsWith('backup:'))) return;
  if ((reported.get(tenantId) ?? -Infinity) > now - REPORT_EVERY_MS) return;
  if (reported.size >= MAX_TRACKED) reported.clear();
  reported.set(tenantId, now);
  const incident: Incident = { type: 'backupAuthTakeover', cellId, at: now };
  ctx.waitUntil(healthMonitorStub(env, tenantId).raiseIncident(tenantId, incident).then(
    () => undefined,
    (e: unknown) => {
      reported.delete(tenantId);
      console.warn('takeover report failed', e instanceof Error ? e.message : String(e));
    },
  ));
}
