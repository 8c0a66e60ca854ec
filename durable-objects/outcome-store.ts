import { DurableObject } from 'cloudflare:workers';
import { BUCKET_RETENTION_MS, MAX_SUBJECTS, MONTHS_KEPT, monthOf, type BucketRow } from '../core/outcomes/buckets.js';
import type { WindowSums } from '../core/health/monitors.js';
import { healthMonitorStub } from './health-monitor.js';
import { SCENARIOS, type Scenario } from '../core/outcomes/classify.js';
import type { MonthRow, SeriesRow } from '../core/outcomes/reports.js';
import { idByName } from './object-ids.js';

/** A flush id is remembered this long: a flush retried within it is not counted twice. */
const FLUSH_ID_TTL_MS = 86_400_000;
const PURGE_EVERY_MS = 3_600_000;
export const WAKE_EVERY_MS = 30_000;

/** One window of a tenant's counters: sums per scenario and `scenario|subject` pairs that failed. */
export interface WindowReport {
  sums: WindowSums;
  subjects: string[];
}

export interface RegionSla extends MonthRow {
  tenantId: string;
  region: string;
}

const isScenario = (s: string): s is Scenario => (SCENARIOS as readonly string[]).includes(s);

/**
 * One region's outcome counters (one object per region, named `outcomes:{region}`; SQLite):
 * the edge isolates of that region send it their batched 5-minute buckets (at most every 5 s
 * per isolate), never one write per request. Each flush is applied once (by id) and updates
 * the bucket and its month's roll-up in one transaction. Not replicated: a region's counters
 * are its own; reports read every region's object. The alarm drops buckets past 30 days and
 * roll-ups past MONTHS_KEPT months.
 */
export class OutcomeStore extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS oc_buckets (tenant TEXT NOT NULL, region TEXT NOT NULL, scenario TEXT NOT NULL, start INTEGER NOT NULL,
      success INTEGER NOT NULL, caller INTEGER NOT NULL, service INTEGER NOT NULL, ca INTEGER NOT NULL, PRIMARY KEY (tenant, start, region, scenario)) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS oc_months (tenant TEXT NOT NULL, region TEXT NOT NULL, scenario TEXT NOT NULL, month TEXT NOT NULL,
      success INTEGER NOT NULL, caller INTEGER NOT NULL, service INTEGER NOT NULL, ca INTEGER NOT NULL, PRIMARY KEY (tenant, month, region, scenario)) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS oc_flushes (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS oc_subjects (tenant TEXT NOT NULL, start INTEGER NOT NULL, scenario TEXT NOT NULL, subject TEXT NOT NULL,
      PRIMARY KEY (tenant, start, scenario, subject)) WITHOUT ROWID`);
  }

  /** Adds one isolate's batch. Returns false when this flush id was already applied. */
  async add(flushId: string, rows: BucketRow[]): Promise<boolean> {
    const now = Date.now();
    const applied = this.ctx.storage.transactionSync(() => {
      if (this.sql.exec(`SELECT 1 FROM oc_flushes WHERE id = ?`, flushId).toArray().length > 0) return false;
      this.sql.exec(`INSERT INTO oc_flushes (id, at) VALUES (?, ?)`, flushId, now);
      for (const r of rows) {
        const values = [r.success, r.callerError, r.serviceFailure, r.caBlocked];
        this.sql.exec(`INSERT INTO oc_buckets VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET success = success + excluded.success,
          caller = caller + excluded.caller, service = service + excluded.service, ca = ca + excluded.ca`, r.tenantId, r.region, r.scenario, r.start, ...values);
        this.sql.exec(`INSERT INTO oc_months VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET success = success + excluded.success,
          caller = caller + excluded.caller, service = service + excluded.service, ca = ca + excluded.ca`, r.tenantId, r.region, r.scenario, monthOf(r.start), ...values);
        for (const subject of r.subjects.slice(0, MAX_SUBJECTS)) this.sql.exec(`INSERT OR IGNORE INTO oc_subjects VALUES (?, ?, ?, ?)`, r.tenantId, r.start, r.scenario, subject);
      }
      return true;
    });
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + PURGE_EVERY_MS);
    // Each tenant's health monitor evaluates on its own alarm; activity wakes it (at most every 30 s).
    if (applied) for (const tid of new Set(rows.map((r) => r.tenantId))) this.wake(tid, now);
    return applied;
  }

  private readonly woken = new Map<string, number>();

  private wake(tenantId: string, now: number): void {
    if ((this.woken.get(tenantId) ?? 0) > now - WAKE_EVERY_MS) return;
    if (this.woken.size > 10_000) this.woken.clear();
    this.woken.set(tenantId, now);
    // A failed wake is forgotten, so the next flush of the tenant tries again.
    this.ctx.waitUntil(healthMonitorStub(this.env, tenantId).touch(tenantId).catch((e: unknown) => {
      this.woken.delete(tenantId);
      console.warn('health monitor wake failed', e instanceof Error ? e.message : String(e));
    }));
  }

  /**
   * A tenant's counters summed per scenario over each window [from, to) (5-minute buckets whose
   * start lies inside), and the distinct failing subjects of each window (at most `subjectLimit`).
   */
  sums(tenantId: string, windows: Array<[number, number]>, subjectLimit: number): WindowReport[] {
    return windows.map(([from, to]) => {
      const sums: WindowSums = {};
      for (const r of this.buckets(tenantId, from, to)) {
        const c = (sums[r.scenario] ??= { success: 0, callerError: 0, serviceFailure: 0, caBlocked: 0 });
        c.success += r.success;
        c.callerError += r.callerError;
        c.serviceFailure += r.serviceFailure;
        c.caBlocked += r.caBlocked;
      }
      const subjects = this.sql
        .exec<{ scenario: string; subject: string }>(`SELECT DISTINCT scenario, subject FROM oc_subjects WHERE tenant = ? AND start >= ? AND start < ? LIMIT ?`, tenantId, from, to, subjectLimit)
        .toArray()
        .map((r) => `${r.scenario}|${r.subject}`);
      return { sums, subjects };
    });
  }

  /** A tenant's monthly roll-ups (every scenario). */
  months(tenantId: string): MonthRow[] {
    return this.sql
      .exec<{ month: string; success: number; caller: number; service: number; ca: number }>(
        `SELECT month, SUM(success) AS success, SUM(caller) AS caller, SUM(service) AS service, SUM(ca) AS ca FROM oc_months WHERE tenant = ? GROUP BY month`, tenantId)
      .toArray()
      .map((r) => ({ month: r.month, success: r.success, callerError: r.caller, serviceFailure: r.service, caBlocked: r.ca }));
  }

  /** The operator's view: every tenant's months in this region. */
  allMonths(): RegionSla[] {
    return this.sql
      .exec<{ tenant: string; region: string; month: string; success: number; caller: number; service: number; ca: number }>(
        `SELECT tenant, region, month, SUM(success) AS success, SUM(caller) AS caller, SUM(service) AS service, SUM(ca) AS ca FROM oc_months GROUP BY tenant, region, month`)
      .toArray()
      .map((r) => ({ tenantId: r.tenant, region: r.region, month: r.month, success: r.success, callerError: r.caller, serviceFailure: r.service, caBlocked: r.ca }));
  }

  /** A tenant's 5-minute buckets in [from, to), per scenario (regions merged). */
  buckets(tenantId: string, from: number, to: number): SeriesRow[] {
    return this.sql
      .exec<{ scenario: string; start: number; success: number; caller: number; service: number; ca: number }>(
        `SELECT scenario, start, SUM(success) AS success, SUM(caller) AS caller, SUM(service) AS service, SUM(ca) AS ca
         FROM oc_buckets WHERE tenant = ? AND start >= ? AND start < ? GROUP BY scenario, start`, tenantId, from, to)
      .toArray()
      .flatMap((r) => (isScenario(r.scenario) ? [{ scenario: r.scenario, start: r.start, success: r.success, callerError: r.caller, serviceFailure: r.service, caBlocked: r.ca }] : []));
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec(`DELETE FROM oc_buckets WHERE start < ?`, now - BUCKET_RETENTION_MS);
    this.sql.exec(`DELETE FROM oc_subjects WHERE start < ?`, now - BUCKET_RETENTION_MS);
    this.sql.exec(`DELETE FROM oc_flushes WHERE at < ?`, now - FLUSH_ID_TTL_MS);
    const oldest = new Date(now);
    oldest.setUTCMonth(oldest.getUTCMonth() - MONTHS_KEPT);
    this.sql.exec(`DELETE FROM oc_months WHERE month < ?`, monthOf(oldest.getTime()));
    await this.ctx.storage.setAlarm(now + PURGE_EVERY_MS);
  }
}

export function outcomeStoreStub(env: Env, region: string): DurableObjectStub<OutcomeStore> {
  const ns = env.OUTCOMES;
  return ns.get(idByName(ns, `outcomes:${region}`), { locationHint: region as DurableObjectLocationHint });
}
