/**
 * When the edge answers token requests from the backup path (issue 14). Two rules:
 * - per request: the primary gets `PRIMARY_BUDGET_MS` (not the 8-s call timeout); an error, a
 *   5xx-class outcome or no answer within the budget sends that request to the backup path;
 * - per cell: a health view over a sliding window of those outcomes. Beyond the threshold the
 *   cell is in backup mode: token requests go straight to the backup path, while one request
 *   every `PROBE_EVERY_MS` still tries the primary (a probe); the cell returns to primary mode
 *   after `RECOVERY_PROBES` probes in a row succeed.
 * Plus operator drills: `forced` until a given time for a tenant. Pure: time is passed in.
 */
export const PRIMARY_BUDGET_MS = 1_500;
export const WINDOW_MS = 10_000;
/** Failures in the window that trip backup mode, and the share of calls they must be. */
export const MIN_FAILURES = 3;
export const FAILURE_SHARE = 0.5;
export const PROBE_EVERY_MS = 2_000;
export const RECOVERY_PROBES = 2;

export type PrimaryResult = 'ok' | 'error' | 'timeout' | 'server_error';

export interface HealthView {
  mode: 'primary' | 'backup';
  /** When the current mode started (epoch ms). */
  since: number;
  /** Recent primary results in the window, oldest first. */
  recent: Array<{ at: number; ok: boolean }>;
  lastProbeAt: number;
  goodProbes: number;
  /** Token requests the backup path answered while this view was in backup mode or after a failed primary call. */
  servedByBackup: number;
}

export const freshView = (now: number): HealthView => ({ mode: 'primary', since: now, recent: [], lastProbeAt: 0, goodProbes: 0, servedByBackup: 0 });

/** A failed primary answer: a transport error, a timeout, or a 5xx-class reply (503 included). */
export function classifyPrimary(outcome: { kind: 'reply'; status: number } | { kind: 'unavailable' } | { kind: 'timeout' } | { kind: 'error' }): PrimaryResult {
  if (outcome.kind === 'timeout') return 'timeout';
  if (outcome.kind === 'error' || outcome.kind === 'unavailable') return 'error';
  return outcome.status >= 500 ? 'server_error' : 'ok';
}

export type Route = 'primary' | 'probe' | 'backup';

/** Where the next token request of this cell goes. */
export function route(view: HealthView, now: number): Route {
  if (view.mode === 'primary') return 'primary';
  return now - view.lastProbeAt >= PROBE_EVERY_MS ? 'probe' : 'backup';
}

/** The view after a primary call (a normal one or a probe) had `result`. */
export function observe(view: HealthView, result: PrimaryResult, now: number, probe: boolean): HealthView {
  const ok = result === 'ok';
  const recent = [...view.recent.filter((r) => now - r.at < WINDOW_MS), { at: now, ok }].slice(-256);
  if (view.mode === 'backup') {
    const goodProbes = probe ? (ok ? view.goodProbes + 1 : 0) : view.goodProbes;
    const next = { ...view, recent, lastProbeAt: probe ? now : view.lastProbeAt, goodProbes };
    return goodProbes >= RECOVERY_PROBES ? { ...next, mode: 'primary', since: now, recent: [], goodProbes: 0 } : next;
  }
  const failures = recent.filter((r) => !r.ok).length;
  const trip = failures >= MIN_FAILURES && failures / recent.length >= FAILURE_SHARE;
  return trip ? { ...view, recent, mode: 'backup', since: now, lastProbeAt: now, goodProbes: 0 } : { ...view, recent };
}

/** A probe that was claimed but not made (its request went to the backup path instead). */
export const claimProbe = (view: HealthView, now: number): HealthView => ({ ...view, lastProbeAt: now });

export interface Drill {
  tenantId: string;
  until: number;
}

export const DRILL_MAX_MINUTES = 24 * 60;

/** Validates `{tenantId, minutes}` of `POST /admin/backup-auth/drill`; minutes 0 ends a drill. */
export function parseDrill(body: unknown, now: number): Drill | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'tenantId' && k !== 'minutes') return `unknown property '${k}'`;
  if (typeof o.tenantId !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(o.tenantId)) return 'tenantId must be a tenant id';
  const m = o.minutes;
  if (typeof m !== 'number' || !Number.isFinite(m) || m < 0 || m > DRILL_MAX_MINUTES) return `minutes must be a number from 0 to ${DRILL_MAX_MINUTES}`;
  return { tenantId: o.tenantId, until: now + m * 60_000 };
}

export const drillActive = (drill: Drill | undefined, now: number): boolean => drill !== undefined && drill.until > now;

/**
 * Drills are kept in the tenant's backup store (durable, one place every edge isolate reads);
 * an isolate caches what it read for `DRILL_CACHE_MS`, so a drill set elsewhere takes effect
 * within that long and the store is read at most once per tenant per interval per isolate.
 */
export const DRILL_CACHE_MS = 5_000;

export interface DrillView {
  /** The drill's end (epoch ms) as last read; null: none. */
  until: number | null;
  readAt: number;
}

export const needsDrillRead = (view: DrillView | undefined, now: number): boolean => view === undefined || now - view.readAt >= DRILL_CACHE_MS;

/**
 * The view after a read of the store: its answer, or on a failed read (store down or slow) the
 * last known answer for another interval (no drill if none was ever read): a drill never starts
 * or ends because its store could not be reached, and the store is not asked on every request.
 */
export const drillAfterRead = (prev: DrillView | undefined, read: { ok: true; until: number | null } | { ok: false }, now: number): DrillView =>
  ({ until: read.ok ? read.until : (prev?.until ?? null), readAt: now });

export const drillViewActive = (view: DrillView | undefined, now: number): boolean => view !== undefined && view.until !== null && view.until > now;

/** Which token requests the backup path may answer at all: the rest are refused at once during an outage. */
export function backupCanServe(op: string, grantType: string | null): boolean {
  if (op === 'jwks' || op === 'keys') return true;
  return op === 'token' && (grantType === 'refresh_token' || grantType === 'client_credentials');
}
