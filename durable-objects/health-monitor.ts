import { DurableObject } from 'cloudflare:workers';
import { ALERT_TYPES, DEFAULT_CONFIG, detect, patchConfig, SIGNALS, windowsFor, type AlertType, type MonitorConfig, type WindowSums } from '../core/health/monitors.js';
import { patchAlertState, type StoredAlert } from '../core/health/alerts.js';
import type { Result } from '../core/result.js';
import { parseRegionList } from '../core/regions.js';
import { crossCall } from '../workers/platform/faults.js';
import { outcomeStoreStub, type WindowReport } from './outcome-store.js';

const DEFAULT_EVAL_MS = 60_000;
const STORE_TIMEOUT_MS = 5_000;
/** Distinct failing subjects counted per window; more is `impactedCountLimitExceeded`. */
const IMPACT_LIMIT = 1_000;

/** Called with each alert this monitor raises (webhook delivery). */
export type AlertSink = (env: Env, tenantId: string, alert: StoredAlert) => Promise<void>;
let sink: AlertSink | undefined;
export function onAlertRaised(s: AlertSink): void {
  sink = s;
}

/**
 * A tenant's health monitor (one object per tenant, `health:{tenantId}`; SQLite): its alert
 * configurations and alerts. Alarm-driven: the regional outcome stores wake it when the tenant
 * is active; each alarm reads the monitors' windows from every region's store, runs
 * core/health/monitors.ts, raises alerts, and re-arms while the tenant stays active.
 * A region whose store does not answer is left out of that evaluation (its counts only add).
 */
export class HealthMonitor extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hm_config (type TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hm_alerts (id TEXT PRIMARY KEY, type TEXT NOT NULL, created TEXT NOT NULL, state TEXT NOT NULL, json TEXT NOT NULL) WITHOUT ROWID`);
  }

  private evalMs(): number {
    const v = Number(this.env.HEALTH_EVAL_INTERVAL_MS ?? '');
    return Number.isFinite(v) && v >= 100 ? v : DEFAULT_EVAL_MS;
  }

  async touch(tenantId: string): Promise<void> {
    this.sql.exec(`INSERT OR REPLACE INTO hm_meta VALUES ('tenant', ?)`, tenantId);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.evalMs());
  }

  config(type: AlertType): MonitorConfig {
    const row = this.sql.exec<{ json: string }>(`SELECT json FROM hm_config WHERE type = ?`, type).toArray()[0];
    return row === undefined ? { ...DEFAULT_CONFIG } : { ...DEFAULT_CONFIG, ...(JSON.parse(row.json) as Partial<MonitorConfig>) };
  }

  /** PATCH of an alert configuration: a merge, so a retried PATCH leaves the same state. */
  updateConfig(type: AlertType, body: unknown): Result<MonitorConfig, string> {
    const next = patchConfig(this.config(type), body);
    if (next.ok) this.sql.exec(`INSERT OR REPLACE INTO hm_config VALUES (?, ?)`, type, JSON.stringify(next.value));
    return next;
  }

  alerts(): StoredAlert[] {
    return this.sql.exec<{ json: string }>(`SELECT json FROM hm_alerts ORDER BY created DESC, id`).toArray().map((r) => JSON.parse(r.json) as StoredAlert);
  }

  alert(id: string): StoredAlert | null {
    const row = this.sql.exec<{ json: string }>(`SELECT json FROM hm_alerts WHERE id = ?`, id).toArray()[0];
    return row === undefined ? null : (JSON.parse(row.json) as StoredAlert);
  }

  /** PATCH alerts/{id}: sets `state` (idempotent). */
  updateAlert(id: string, body: unknown): StoredAlert | null | string {
    const state = patchAlertState(body);
    if (!state.ok) return state.error;
    const current = this.alert(id);
    if (current === null) return null;
    const next: StoredAlert = { ...current, state: state.value };
    this.sql.exec(`UPDATE hm_alerts SET state = ?, json = ? WHERE id = ?`, state.value, JSON.stringify(next), id);
    return next;
  }

  override async alarm(): Promise<void> {
    const tenantId = this.sql.exec<{ value: string }>(`SELECT value FROM hm_meta WHERE key = 'tenant'`).toArray()[0]?.value;
    if (tenantId === undefined) return;
    const active = await this.evaluate(tenantId, Date.now());
    if (active) await this.ctx.storage.setAlarm(Date.now() + this.evalMs());
  }

  /** One evaluation; true when the tenant had attempts in a current window (keep watching). */
  private async evaluate(tenantId: string, now: number): Promise<boolean> {
    const plans = ALERT_TYPES.map((type) => ({ type, config: this.config(type) })).filter((p) => p.config.enabled);
    const windows = new Map<string, [number, number]>();
    for (const p of plans) for (const w of windowsFor(p.config, now)) windows.set(w.join('-'), w);
    const list = [...windows.values()];
    const regions = parseRegionList(this.env.REGIONS);
    const reports = await Promise.all(regions.map((r) =>
      crossCall(r, r, STORE_TIMEOUT_MS, () => outcomeStoreStub(this.env, r).sums(tenantId, list, IMPACT_LIMIT) as Promise<WindowReport[]>).catch(() => undefined)));
    const merged = list.map((_, i) => mergeReports(reports.flatMap((rep) => (rep === undefined ? [] : [rep[i]!]))));
    const at = (w: [number, number]) => merged[list.findIndex((x) => x[0] === w[0] && x[1] === w[1])]!;
    const activeTypes = new Set(this.sql.exec<{ type: string }>(`SELECT type FROM hm_alerts WHERE state = 'active'`).toArray().map((r) => r.type));
    let busy = false;
    for (const p of plans) {
      const [current, ...baseline] = windowsFor(p.config, now).map(at);
      if (Object.keys(current!.sums).length > 0) busy = true;
      if (activeTypes.has(p.type)) continue;
      const found = detect(p.type, p.config, current!.sums, baseline.map((b) => b.sums));
      if (found === null) continue;
      const [from, to] = windowsFor(p.config, now)[0]!;
      const subjects = current!.subjects.filter((s) => SIGNALS[p.type].scenarios.some((sc) => s.startsWith(`${sc}|`)));
      const alert: StoredAlert = {
        id: crypto.randomUUID(), alertType: p.type, createdDateTime: new Date(now).toISOString(), state: 'active', detection: found,
        impactedCount: subjects.length, impactedCountLimitExceeded: current!.subjects.length >= IMPACT_LIMIT,
        windowStart: new Date(from).toISOString(), windowEnd: new Date(to).toISOString(),
      };
      this.sql.exec(`INSERT INTO hm_alerts VALUES (?, ?, ?, 'active', ?)`, alert.id, alert.alertType, alert.createdDateTime, JSON.stringify(alert));
      if (sink !== undefined) await sink(this.env, tenantId, alert).catch((e: unknown) => console.warn('alert notification failed', e instanceof Error ? e.message : String(e)));
    }
    return busy;
  }
}

function mergeReports(reports: readonly WindowReport[]): WindowReport {
  const sums: WindowSums = {};
  const subjects = new Set<string>();
  for (const r of reports) {
    for (const [sc, c] of Object.entries(r.sums) as Array<[keyof WindowSums, NonNullable<WindowSums[keyof WindowSums]>]>) {
      const into = (sums[sc] ??= { success: 0, callerError: 0, serviceFailure: 0, caBlocked: 0 });
      into.success += c.success;
      into.callerError += c.callerError;
      into.serviceFailure += c.serviceFailure;
      into.caBlocked += c.caBlocked;
    }
    for (const s of r.subjects) subjects.add(s);
  }
  return { sums, subjects: [...subjects] };
}

export function healthMonitorStub(env: Env, tenantId: string): DurableObjectStub<HealthMonitor> {
  const ns = env.HEALTH;
  return ns.get(ns.idFromName(`health:${tenantId}`));
}
