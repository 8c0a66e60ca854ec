/**
 * The control plane's outbox of cell incidents (issue 16): a failover is written here in the
 * same transaction as the cell's new primary, then told to the health monitor of every tenant
 * of the cell, in tenant-id order, a batch at a time, with a persisted cursor. A monitor that
 * does not answer (down, slow past the timeout) stops the pass; the control plane's alarm
 * (every probe interval) resumes from the cursor. A batch is re-sent whole after a failure or a
 * restart: the monitors' decision is idempotent per failover (core/health/incidents.ts).
 * An incident not told to every tenant within OUTBOX_TTL_MS is dropped (logged).
 */
import type { Incident } from '../core/health/incidents.js';
import { healthMonitorStub } from './health-monitor.js';
import { withinMs } from '../workers/platform/within.js';

const BATCH = 20;
const CALL_TIMEOUT_MS = 5_000;
const OUTBOX_TTL_MS = 86_400_000;


export class IncidentOutbox {
  private draining: Promise<void> | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
    /** Active tenants of a cell with ids after `after`, in id order. */
    private readonly tenantsOf: (cellId: string, after: string, limit: number) => string[],
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS cp_incidents (key TEXT PRIMARY KEY, cell TEXT NOT NULL, json TEXT NOT NULL, cursor TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID`);
  }

  /** Call inside the transaction that records the incident. */
  record(key: string, incident: Incident): void {
    this.sql.exec(`INSERT OR IGNORE INTO cp_incidents VALUES (?, ?, ?, '', ?)`, key, incident.cellId, JSON.stringify(incident), incident.at);
  }

  pending(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM cp_incidents`).one().n;
  }

  /** One pass over the outbox; concurrent callers share it. */
  drain(now: number): Promise<void> {
    this.draining ??= this.pass(now).finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async pass(now: number): Promise<void> {
    const rows = this.sql.exec<{ key: string; cell: string; json: string; cursor: string; created_at: number }>(`SELECT * FROM cp_incidents ORDER BY created_at`).toArray();
    for (const row of rows) {
      if (row.created_at < now - OUTBOX_TTL_MS) {
        console.warn(`incident ${row.key} dropped: not told to every tenant within ${OUTBOX_TTL_MS} ms (cursor ${row.cursor})`);
        this.sql.exec(`DELETE FROM cp_incidents WHERE key = ?`, row.key);
        continue;
      }
      const incident = JSON.parse(row.json) as Incident;
      let cursor = row.cursor;
      for (;;) {
        const tenants = this.tenantsOf(row.cell, cursor, BATCH);
        if (tenants.length === 0) {
          this.sql.exec(`DELETE FROM cp_incidents WHERE key = ?`, row.key);
          break;
        }
        const told = await Promise.all(tenants.map((t) => withinMs(CALL_TIMEOUT_MS, healthMonitorStub(this.env, t).raiseIncident(t, incident), 'incident report').then(() => true, () => false)));
        if (told.includes(false)) return;
        cursor = tenants[tenants.length - 1]!;
        this.sql.exec(`UPDATE cp_incidents SET cursor = ? WHERE key = ?`, cursor, row.key);
      }
    }
  }
}
