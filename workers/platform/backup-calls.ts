/**
 * Takeover at the edge (issue 14; rules in core/backup-auth/takeover.ts). Token-service calls
 * of a tenant go to the primary as before while its cell's health view is good; a request the
 * backup path can serve (refresh_token, client_credentials, JWKS) whose primary call fails or
 * takes longer than 1.5 s is answered from the backup path instead. A cell in backup mode
 * sends those requests straight to the backup path (probing the primary now and then), and
 * refuses the rest at once with `temporarily_unavailable` (an HTML page for the sign-in pages).
 * An operator drill forces backup mode for one tenant; it is kept in the tenant's backup store
 * (every isolate reads it there, cached DRILL_CACHE_MS). The health views are per isolate.
 */
import { claimProbe, classifyPrimary, drillAfterRead, drillViewActive, freshView, needsDrillRead, observe, PRIMARY_BUDGET_MS, route, type Drill, type DrillView, type HealthView, type PrimaryResult } from '../../core/backup-auth/takeover.js';
import { backupCanServe } from '../../core/backup-auth/takeover.js';
import { backupRegionOf } from '../../core/backup-auth/keys.js';
import { parseRegionList } from '../../core/regions.js';
import { messagePage } from '../../core/token/pages.js';
import { oauthErrorResponse } from '../../core/token/oauth-errors.js';
import { NO_STORE } from '../../core/token/flows/types.js';
import type { BackupRpc } from '../../durable-objects/backup-protocol.js';
import type { TokenCall } from '../../durable-objects/replica-protocol.js';
import { backupService } from '../../durable-objects/backup-learning.js';
import { callToken, type RoutedToken } from './token-calls.js';
import { crossCall } from './faults.js';
import type { TenantPlacement } from './topology.js';

const views = new Map<string, HealthView>();
const drills = new Map<string, DrillView>();
const BACKUP_CALL_TIMEOUT_MS = 5_000;
/** A drill read is on a request's path (once per tenant per DRILL_CACHE_MS): a slow store costs at most this. */
const DRILL_READ_TIMEOUT_MS = 300;

function viewOf(cellId: string, now: number): HealthView {
  let v = views.get(cellId);
  if (v === undefined) views.set(cellId, (v = freshView(now)));
  return v;
}

/** Stores the drill in the tenant's backup store (throws when it cannot be reached: the drill is then not set; a retry is safe). */
export async function setDrill(backup: BackupRpc, placement: TenantPlacement, drill: Drill): Promise<number | null> {
  const region = backupRegionOf(placement.cell.regions);
  const until = await crossCall('edge', region, BACKUP_CALL_TIMEOUT_MS, () => backup.setDrill(region, drill.tenantId, drill.until));
  drills.set(drill.tenantId, { until, readAt: Date.now() });
  return until;
}

/** Whether a drill forces the backup path for the tenant: this isolate's recent read, else the tenant's backup store. */
async function drillInForce(backup: BackupRpc, placement: TenantPlacement, tenantId: string, now: number): Promise<boolean> {
  let view = drills.get(tenantId);
  if (needsDrillRead(view, now)) {
    const region = backupRegionOf(placement.cell.regions);
    const read = await crossCall('edge', region, DRILL_READ_TIMEOUT_MS, () => backup.drill(region, tenantId)).then((until) => ({ ok: true as const, until }), () => ({ ok: false as const }));
    drills.set(tenantId, (view = drillAfterRead(view, read, now)));
  }
  return drillViewActive(view, now);
}

/** What `GET /admin/backup-auth` shows of this isolate: each cell's view and the drills in force. */
export function takeoverState(now: number): { cells: Array<{ cell: string; mode: string; since: string; servedByBackup: number; recentFailures: number }>; drills: Array<{ tenantId: string; until: string }> } {
  return {
    cells: [...views].map(([cell, v]) => ({ cell, mode: v.mode, since: new Date(v.since).toISOString(), servedByBackup: v.servedByBackup, recentFailures: v.recent.filter((r) => !r.ok).length })),
    drills: [...drills].filter(([, d]) => drillViewActive(d, now)).map(([tenantId, d]) => ({ tenantId, until: new Date(d.until!).toISOString() })),
  };
}

function refusal(call: TokenCall, status?: number): RoutedToken {
  const interactive = call.op === 'authorize' || call.op === 'deviceauth' || call.op === 'adminconsent' || call.op === 'logout';
  if (interactive) {
    const body = messagePage('Sign-in is temporarily unavailable', 'The sign-in service is recovering from an outage. Existing sessions keep working; please try again in a few minutes.');
    return { outcome: { kind: 'reply', status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8', ...NO_STORE, 'Retry-After': '30' }, body }, region: 'backup' };
  }
  const r = oauthErrorResponse('backup_unavailable', { now: Date.now(), traceId: call.traceId, correlationId: call.correlationId, baseUrl: call.origin, tenantId: call.tenantId });
  return { outcome: { kind: 'reply', status: status ?? r.status, headers: { ...r.headers, 'Retry-After': '30' }, body: JSON.stringify(r.body) }, region: 'backup' };
}

/** Answers a call from the backup path (or refuses it cleanly when the backup path cannot answer either). */
async function fromBackup(backup: BackupRpc, placement: TenantPlacement, call: TokenCall): Promise<RoutedToken> {
  const region = backupRegionOf(placement.cell.regions);
  try {
    if (call.op === 'jwks') {
      const jwks = await crossCall('edge', region, BACKUP_CALL_TIMEOUT_MS, () => backup.jwks(region, call.tenantId));
      if (jwks === null) return refusal(call);
      return { outcome: { kind: 'reply', status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'public, max-age=300' }, body: jwks }, region: `backup:${region}` };
    }
    // The backup store is regional infrastructure: region faults (down, partitioned, isolated) apply to it; primaryPathDown does not.
    const reply = await crossCall('edge', region, BACKUP_CALL_TIMEOUT_MS, () => backup.token(region, {
      tenantId: call.tenantId, origin: call.origin, tenantSegment: call.tenantSegment, params: call.params, authorization: call.authorization,
      traceId: call.traceId, correlationId: call.correlationId,
    }));
    return { outcome: { kind: 'reply', ...reply }, region: `backup:${region}` };
  } catch {
    return refusal(call);
  }
}

/** The backup path could not decide (unreachable, or `temporarily_unavailable`: not learned): unlike a revocation, not a final answer. */
const cannotServe = (answer: RoutedToken): boolean => answer.region === 'backup' || (answer.outcome.kind === 'reply' && answer.outcome.status === 503);

type Attempt = { kind: 'done'; routed: RoutedToken } | { kind: 'error'; error: unknown } | { kind: 'timeout' };

const settle = (p: Promise<RoutedToken>): Promise<Attempt> => p.then((routed) => ({ kind: 'done' as const, routed }), (error: unknown) => ({ kind: 'error' as const, error }));

/** The primary's answer if it comes within the per-request budget (PRIMARY_BUDGET_MS), else `timeout`. */
async function withBudget(attempt: Promise<Attempt>): Promise<Attempt> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const budget = new Promise<Attempt>((resolve) => (timer = setTimeout(() => resolve({ kind: 'timeout' }), PRIMARY_BUDGET_MS)));
  try {
    return await Promise.race([attempt, budget]);
  } finally {
    clearTimeout(timer);
  }
}

function resultOf(a: Attempt): PrimaryResult {
  if (a.kind === 'timeout') return 'timeout';
  if (a.kind === 'error') return 'error';
  const o = a.routed.outcome;
  return classifyPrimary(o.kind === 'reply' ? { kind: 'reply', status: o.status } : { kind: 'unavailable' });
}

/** `callToken` with takeover; unchanged when no backup service is bound. */
export async function callTokenWithTakeover(request: Request, env: Env, placement: TenantPlacement, call: TokenCall, form: URLSearchParams): Promise<RoutedToken> {
  const backup = backupService(env);
  if (backup === undefined) return callToken(request, env, placement, call);
  const cellId = placement.cell.id;
  const now = Date.now();
  const servable = backupCanServe(call.op, form.get('grant_type'));
  const drill = await drillInForce(backup, placement, call.tenantId, now);
  const way = drill ? 'backup' : route(viewOf(cellId, now), now);
  if (way === 'backup') {
    if (!servable) return refusal(call);
    const answer = await fromBackup(backup, placement, call);
    if (!cannotServe(answer) || drill) {
      if (!drill) viewOf(cellId, now).servedByBackup++;
      return answer;
    }
    // The backup path cannot serve it (not learned yet): the primary gets one budget, then the refusal stands.
    const late = await withBudget(settle(callToken(request, env, placement, call)));
    return late.kind === 'done' && resultOf(late) === 'ok' ? late.routed : answer;
  }
  const probe = way === 'probe';
  if (probe) views.set(cellId, claimProbe(viewOf(cellId, now), now));
  const primary = settle(callToken(request, env, placement, call));
  const attempt = servable ? await withBudget(primary) : await primary;
  const result = resultOf(attempt);
  views.set(cellId, observe(viewOf(cellId, Date.now()), result, Date.now(), probe));
  if (result === 'ok' && attempt.kind === 'done') return adoptedRetry(request, env, backup, placement, call, form, attempt.routed);
  if (servable) {
    const answer = await fromBackup(backup, placement, call);
    // The backup path cannot serve it (a session it never saw): a slow primary is still the better answer.
    if (attempt.kind === 'timeout' && cannotServe(answer)) {
      const late = await primary;
      if (late.kind === 'done') return late.routed;
    }
    if (!cannotServe(answer)) viewOf(cellId, Date.now()).servedByBackup++;
    return answer;
  }
  if (attempt.kind === 'error') throw attempt.error;
  return attempt.kind === 'done' ? attempt.routed : refusal(call);
}

/**
 * A refresh token the primary does not know may be one the backup path issued whose rotation
 * the primary has not adopted yet (the first requests after recovery): adopt now, retry once.
 */
async function adoptedRetry(request: Request, env: Env, backup: BackupRpc, placement: TenantPlacement, call: TokenCall, form: URLSearchParams, routed: RoutedToken): Promise<RoutedToken> {
  const o = routed.outcome;
  if (form.get('grant_type') !== 'refresh_token' || o.kind !== 'reply' || o.status !== 400 || !o.body.includes('"invalid_grant"')) return routed;
  const region = backupRegionOf(placement.cell.regions);
  const adopted = await crossCall('edge', region, BACKUP_CALL_TIMEOUT_MS, () => backup.adoptNow(region, call.tenantId)).catch(() => 0);
  return adopted > 0 ? callToken(request, env, placement, call) : routed;
}

/**
 * The tenant's placement as the backup service learned it, for when the control plane cannot
 * be reached and this isolate has no cached entry (every region's store is asked at once).
 */
export async function backupPlacement(env: Env, idOrDomain: string): Promise<TenantPlacement | null> {
  const backup = backupService(env);
  if (backup === undefined) return null;
  const answers = await Promise.all(parseRegionList(env.REGIONS).map((r) => crossCall('edge', r, BACKUP_CALL_TIMEOUT_MS, () => backup.placement(r, idOrDomain)).catch(() => null)));
  return answers.find((a) => a !== null) ?? null;
}
