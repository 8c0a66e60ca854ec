import { DurableObject } from 'cloudflare:workers';
import { clearTables } from './clear-tables.js';
import { DEFAULT_CONFIG, detect, keepWatching, patchConfig, RATE_ALERT_TYPES, SIGNALS, windowsFor, type AlertType, type MonitorConfig, type WindowSums } from '../core/health/monitors.js';
import { patchAlertState, type StoredAlert } from '../core/health/alerts.js';
import type { EmailNotificationConfiguration } from '../core/health/alert-email.js';
import { decideIncident, impactWindow, incidentKey, isIncident, type Incident, type KnownIncident } from '../core/health/incidents.js';
import type { Result } from '../core/result.js';
import { parseRegionList } from '../core/regions.js';
import { crossCall } from '../workers/platform/faults.js';
import { outcomeStoreStub, WAKE_EVERY_MS, type WindowReport } from './outcome-store.js';
import { idByName } from './object-ids.js';

const DEFAULT_EVAL_MS = 60_000;
const STORE_TIMEOUT_MS = 5_000;
/** Distinct failing subjects counted per window; more is `impactedCountLimitExceeded`. */
const IMPACT_LIMIT = 1_000;
/** An alert whose notification could not be queued is retried by the alarm this long, then dropped (logged). */
const DELIVERY_RETRY_MS = 86_400_000;

/** Called with each alert this monitor raises (webhook delivery). */
export type AlertSink = (env: Env, tenantId: string, alert: StoredAlert, emails: readonly EmailNotificationConfiguration[]) => Promise<void>;
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
 *
 * Incident alerts (`cellFailover`, `backupAuthTakeover`) come in by `raiseIncident`, at least
 * once (core/health/incidents.ts makes a repeat harmless). Every raised alert is written with an
 * `hm_undelivered` row in one transaction; the row goes once its notifications are queued, so an
 * alert raised while its subscriptions cannot be read (the cell's primary down: the very
 * failover being reported) is queued by a later alarm. A crash between queueing and deleting
 * the row queues it again: receivers get Graph's at-least-once, the alert id is the same.
 */
export class HealthMonitor extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hm_config (type TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hm_alerts (id TEXT PRIMARY KEY, type TEXT NOT NULL, created TEXT NOT NULL, state TEXT NOT NULL, json TEXT NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hm_incidents (key TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (key, id)) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS hm_undelivered (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID`);
  }

  /** The tenant was deleted (durable-objects/tenant-purge.ts): its alerts, configuration and incidents go. */
  async purge(): Promise<void> {
    await clearTables(this.ctx, ['hm_meta', 'hm_config', 'hm_alerts', 'hm_incidents', 'hm_undelivered']);
  }

  /** One delivery pass at a time (two would queue the same alert twice). */
  private delivering: Promise<void> | undefined;

  /**
   * A platform incident for this tenant (the control plane's failover outbox, the edge's
   * takeover report). Decided and written synchronously (no interleaving with a concurrent
   * report of the same incident), then enriched and delivered.
   */
  async raiseIncident(tenantId: string, incident: Incident): Promise<'raised' | 'merged' | 'ignored'> {
    if (!isIncident(incident)) return 'ignored';
    this.sql.exec(`INSERT OR REPLACE INTO hm_meta VALUES ('tenant', ?)`, tenantId);
    const key = incidentKey(incident);
    const known: KnownIncident[] = this.sql
      .exec<{ json: string }>(`SELECT a.json FROM hm_incidents i JOIN hm_alerts a ON a.id = i.id WHERE i.key = ?`, key)
      .toArray()
      .flatMap((r) => {
        const a = JSON.parse(r.json) as StoredAlert;
        return a.incident === undefined ? [] : [{ id: a.id, state: a.state, detail: a.incident }];
      });
    const decision = decideIncident(incident, this.config(incident.type), known);
    if (decision.kind === 'ignore') return 'ignored';
    if (decision.kind === 'merge') {
      const current = this.alert(decision.id)!;
      this.sql.exec(`UPDATE hm_alerts SET json = ? WHERE id = ?`, JSON.stringify({ ...current, incident: decision.detail }), decision.id);
      return 'merged';
    }
    const now = Date.now();
    const alert: StoredAlert = {
      id: crypto.randomUUID(), alertType: incident.type, createdDateTime: new Date(now).toISOString(), state: 'active', incident: decision.detail,
      impactedCount: 0, impactedCountLimitExceeded: false, windowStart: new Date(impactWindow(incident.at, now)[0]).toISOString(), windowEnd: new Date(now).toISOString(),
    };
    this.insertAlert(alert, now, key);
    await this.armRetryIfPending();
    // The caller (a fan-out over many tenants) does not wait for enrichment or delivery; the alarm retries delivery.
    this.ctx.waitUntil(this.enrich(tenantId, alert.id, incident).then(() => this.deliverPending(tenantId)));
    return 'raised';
  }

  /** Impact: the apps whose requests failed around the incident, as far as the stores that answer know. */
  private async enrich(tenantId: string, id: string, incident: Incident): Promise<void> {
    const [report] = (await this.readWindows(tenantId, [impactWindow(incident.at, Date.now())])).reports;
    const subjects = report!.subjects.filter((s) => SIGNALS[incident.type].scenarios.some((sc) => s.startsWith(`${sc}|`)));
    const current = this.alert(id);
    if (current === null) return;
    const enriched: StoredAlert = { ...current, impactedCount: subjects.length, impactedCountLimitExceeded: report!.subjects.length >= IMPACT_LIMIT };
    this.sql.exec(`UPDATE hm_alerts SET json = ? WHERE id = ?`, JSON.stringify(enriched), id);
  }

  /** The alert, its delivery row and (an incident's) key, in one transaction. */
  private insertAlert(alert: StoredAlert, now: number, incidentKey?: string): void {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(`INSERT INTO hm_alerts VALUES (?, ?, ?, 'active', ?)`, alert.id, alert.alertType, alert.createdDateTime, JSON.stringify(alert));
      this.sql.exec(`INSERT INTO hm_undelivered VALUES (?, ?)`, alert.id, now);
      if (incidentKey !== undefined) this.sql.exec(`INSERT INTO hm_incidents VALUES (?, ?)`, incidentKey, alert.id);
    });
  }

  /** Queues the notifications of every alert not yet queued (oldest first); a failure leaves it for the alarm. */
  private deliverPending(tenantId: string): Promise<void> {
    this.delivering ??= (async () => {
      const cutoff = Date.now() - DELIVERY_RETRY_MS;
      for (const row of this.sql.exec<{ id: string; at: number }>(`SELECT id, at FROM hm_undelivered ORDER BY at`).toArray()) {
        const alert = this.alert(row.id);
        if (alert === null || row.at < cutoff) {
          if (alert !== null) console.warn(`alert ${row.id} of tenant ${tenantId} dropped from delivery after ${DELIVERY_RETRY_MS} ms of failures`);
          this.sql.exec(`DELETE FROM hm_undelivered WHERE id = ?`, row.id);
          continue;
        }
        if (sink === undefined) return;
        try {
          await sink(this.env, tenantId, alert, this.config(alert.alertType).emails ?? []);
          this.sql.exec(`DELETE FROM hm_undelivered WHERE id = ?`, row.id);
        } catch (e) {
          console.warn('alert notification failed; retried by the alarm', e instanceof Error ? e.message : String(e));
          return;
        }
      }
    })().finally(() => (this.delivering = undefined));
    return this.delivering;
  }

  private pendingDeliveries(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM hm_undelivered`).one().n;
  }

  private async armRetryIfPending(): Promise<void> {
    if (this.pendingDeliveries() > 0 && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.evalMs());
  }

  private evalMs(): number {
    const v = Number(this.env.HEALTH_EVAL_INTERVAL_MS ?? '');
    return Number.isFinite(v) && v >= 100 ? v : DEFAULT_EVAL_MS;
  }

  async touch(tenantId: string): Promise<void> {
    this.sql.exec(`INSERT OR REPLACE INTO hm_meta VALUES ('tenant', ?)`, tenantId);
    this.sql.exec(`INSERT OR REPLACE INTO hm_meta VALUES ('woken', ?)`, String(Date.now()));
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
    const now = Date.now();
    const pass = await this.evaluate(tenantId, now);
    await this.deliverPending(tenantId);
    const woken = this.sql.exec<{ value: string }>(`SELECT value FROM hm_meta WHERE key = 'woken'`).toArray()[0]?.value;
    const watch = keepWatching({ ...pass, now, wokenAt: woken === undefined ? undefined : Number(woken), wakeEveryMs: WAKE_EVERY_MS });
    if (watch || this.pendingDeliveries() > 0) await this.ctx.storage.setAlarm(Date.now() + this.evalMs());
  }

  /** One evaluation: whether the tenant had attempts in a current window, how many stores did not answer, and the longest enabled window. */
  private async evaluate(tenantId: string, now: number): Promise<{ busy: boolean; unanswered: number; longestWindowMs: number }> {
    const plans = RATE_ALERT_TYPES.map((type) => ({ type, config: this.config(type) })).filter((p) => p.config.enabled);
    const longestWindowMs = Math.max(0, ...plans.map((p) => p.config.windowMinutes * 60_000));
    const windows = new Map<string, [number, number]>();
    for (const p of plans) for (const w of windowsFor(p.config, now)) windows.set(w.join('-'), w);
    const list = [...windows.values()];
    const { reports: merged, unanswered } = await this.readWindows(tenantId, list);
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
      this.insertAlert(alert, now);
    }
    return { busy, unanswered, longestWindowMs };
  }

  /** Each window summed over every region's outcome store that answers (one that does not is left out, and counted). */
  private async readWindows(tenantId: string, list: Array<[number, number]>): Promise<{ reports: WindowReport[]; unanswered: number }> {
    const regions = parseRegionList(this.env.REGIONS);
    const reports = await Promise.all(regions.map((r) =>
      crossCall(r, r, STORE_TIMEOUT_MS, () => outcomeStoreStub(this.env, r).sums(tenantId, list, IMPACT_LIMIT) as Promise<WindowReport[]>).catch(() => undefined)));
    const unanswered = reports.filter((rep) => rep === undefined).length;
    return { reports: list.map((_, i) => mergeReports(reports.flatMap((rep) => (rep === undefined ? [] : [rep[i]!])))), unanswered };
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
  return ns.get(idByName(ns, `health:${tenantId}`));
}
