import { DurableObject } from 'cloudflare:workers';
import { BUCKET_RETENTION_MS, MONTHS_KEPT, monthOf, type BucketRow } from '../core/outcomes/buckets.js';
import { SCENARIOS, type Scenario } from '../core/outcomes/classify.js';
import type { MonthRow, SeriesRow } from '../core/outcomes/reports.js';

/** A flush id is remembered this long: a flush retried within it is not counted twice. */
const FLUSH_ID_TTL_MS = 86_400_000;
const PURGE_EVERY_MS = 3_600_000;

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
      }
      return true;
    });
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + PURGE_EVERY_MS);
    return applied;
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
    this.sql.exec(`DELETE FROM oc_flushes WHERE at < ?`, now - FLUSH_ID_TTL_MS);
    const oldest = new Date(now);
    oldest.setUTCMonth(oldest.getUTCMonth() - MONTHS_KEPT);
    this.sql.exec(`DELETE FROM oc_months WHERE month < ?`, monthOf(oldest.getTime()));
    await this.ctx.storage.setAlarm(now + PURGE_EVERY_MS);
  }
}

export function outcomeStoreStub(env: Env, region: string): DurableObjectStub<OutcomeStore> {
  const ns = env.OUTCOMES;
  return ns.get(ns.idFromName(`outcomes:${region}`), { locationHint: region as DurableObjectLocationHint });
}
