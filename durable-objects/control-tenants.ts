import { CONTROL_CELL } from '../core/control/control-cell.js';
import type { ControlOp, LegacyRequest } from '../core/control/plans.js';
import { IDEMPOTENCY_TTL_MS } from '../core/idempotency.js';
import type { CellPlacement, ControlTenant } from '../core/control/state.js';
import type { Region } from '../core/regions.js';
import { crossCall } from '../workers/platform/faults.js';
import type { ControlOutcome } from './control-cell.js';
import type { CellRecord, TenantRecord } from './control-records.js';
import type { ReplicaMeta } from './control-replica.js';
import { CONTROL_SYNC_TIMEOUT_MS, TENANT_PAGE } from './control-replica.js';
import { replicaStub } from './replica-protocol.js';
import { topology } from './cell-watch.js';
import { missIsFinal } from '../core/control/lookup.js';

/**
 * A control copy's tenants (issue 11): a cache of the control cell (core/control/state.ts), pulled
 * from the control cell's replica in the copy's own region in revision order (cursor `ctl_rev`),
 * on the copy's alarm, when an edge tells it of a change (`syncControl`), and once on a lookup
 * miss. New cells' placements come with every pull. `global` is a copy like the others here.
 */

/** What the tenant cache needs from the ControlPlane object it lives in. */
export interface TenantCacheHost {
  readonly sql: SqlStorage;
  readonly env: Env;
  readonly meta: ReplicaMeta;
  /** The region this copy's calls leave from. */
  region(): string;
  cell(id: string): CellRecord | undefined;
  /** Records a cell placement learnt from the control cell (a new cell, or its tenant count). */
  learnCell(p: CellPlacement): void;
  transact(fn: () => void): void;
}

const FAILED: Pulled = { ok: false, final: false };

/** Import pages: one control write each, well under a log entry's size. */
const IMPORT_PAGE = 200;

/** A pull's result: `final`, it read the control cell's primary, confirmed by its voters when asked (a miss after it is final: `missIsFinal`). */
export interface Pulled {
  ok: boolean;
  final: boolean;
}

export class TenantCache {
  private inflight: Promise<Pulled> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly host: TenantCacheHost) {
    const sql = host.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, display_name TEXT NOT NULL, cell TEXT NOT NULL,
      status TEXT NOT NULL, domain TEXT UNIQUE, created_at INTEGER NOT NULL)`);
    // `rev`: the control cell's revision of the row (rows from before the control cell keep their old one).
    if (!sql.exec<{ name: string }>(`PRAGMA table_info(tenants)`).toArray().some((c) => c.name === 'rev')) sql.exec(`ALTER TABLE tenants ADD COLUMN rev INTEGER NOT NULL DEFAULT 0`);
    sql.exec(`CREATE INDEX IF NOT EXISTS tenants_by_rev ON tenants (rev, id)`);
  }

  row(id: string): TenantRecord | undefined {
    const r = this.host.sql
      .exec<{ id: string; display_name: string; cell: string; status: string; domain: string | null; created_at: number }>(`SELECT * FROM tenants WHERE id = ?`, id)
      .toArray()[0];
    if (r === undefined) return undefined;
    return { id: r.id, displayName: r.display_name, cell: r.cell, status: r.status as TenantRecord['status'], domain: r.domain, createdAt: r.created_at };
  }

  /** The tenant by id or verified domain, whatever its status; undefined when this copy has no row for it. */
  find(idOrDomain: string): TenantRecord | undefined {
    const row = this.host.sql.exec<{ id: string }>(`SELECT id FROM tenants WHERE id = ? OR domain = ? ORDER BY status = 'active' DESC`, idOrDomain, idOrDomain.toLowerCase()).toArray()[0];
    return row === undefined ? undefined : this.row(row.id);
  }

  /** Active tenants of a cell after `after` (the incident outbox tells each of them). */
  activeIn(cell: string, after: string, limit: number): string[] {
    return this.host.sql.exec<{ id: string }>(`SELECT id FROM tenants WHERE cell = ? AND status = 'active' AND id > ? ORDER BY id LIMIT ?`, cell, after, limit).toArray().map((r) => r.id);
  }

  summary(): { tenants: number; rev: number } {
    const row = this.host.sql.exec<{ n: number | null }>(`SELECT SUM(status = 'active') AS n FROM tenants`).toArray()[0]!;
    return { tenants: row.n ?? 0, rev: this.cursor() };
  }

  cursor(): number {
    return Number(this.host.meta.value('ctl_rev') ?? 0);
  }

  /**
   * Pulls the control cell's changes (after its replica here has applied `minPos`). A pull with no
   * position joins one in flight; one with a position runs after it. Not `ok`: the replica here did
   * not answer in time or was behind.
   */
  pull(minPos = 0, timeoutMs = CONTROL_SYNC_TIMEOUT_MS, confirm = false): Promise<Pulled> {
    if (minPos === 0 && !confirm && this.inflight !== undefined) return this.inflight;
    const run = this.queue.then(() => this.pullNow(minPos, timeoutMs, confirm));
    const tracked = run.finally(() => {
      if (this.inflight === tracked) this.inflight = undefined;
    });
    this.inflight = tracked;
    this.queue = tracked.catch(() => FAILED);
    return tracked;
  }

  private async pullNow(minPos: number, timeoutMs: number, confirm: boolean): Promise<Pulled> {
    const region = this.host.region();
    const ctl = this.host.cell(CONTROL_CELL)!;
    const stub = replicaStub(this.host.env, CONTROL_CELL, region);
    let confirmed: { primary: boolean; reached: number; needed: number } | undefined;
    try {
      for (let page = 0; page < 100; page++) {
        const got = await crossCall(region, region, timeoutMs, () => stub.controlChanges(topology(ctl, region), this.cursor(), TENANT_PAGE, page === 0 ? minPos : 0, confirm && page === 0));
        if (got.kind === 'changes' && page === 0) confirmed = got.confirmed;
        if (got.kind !== 'changes') return FAILED;
        this.host.transact(() => {
          for (const c of got.cells) this.host.learnCell(c);
          this.put(got.tenants);
          this.host.meta.put('ctl_rev', String(got.next));
        });
        if (!got.more) return { ok: true, final: missIsFinal(confirmed) };
      }
      return { ok: true, final: false };
    } catch {
      return FAILED;
    }
  }

  private put(tenants: readonly ControlTenant[]): void {
    for (const t of tenants) {
      this.host.sql.exec(`INSERT OR REPLACE INTO tenants (id, display_name, cell, status, domain, created_at, rev) VALUES (?, ?, ?, ?, ?, ?, ?)`, t.id, t.displayName, t.cell, t.status, t.domain, t.createdAt, t.rev);
    }
  }

  /**
   * `global` only: writes its tables from before the control cell into it, a page at a time
   * (core/control/plans.ts `importLegacy`: only what the control cell lacks), until the last page
   * commits; then new cells may be placed there. Returns whether the import is complete.
   */
  async importLegacy(write: (op: ControlOp) => Promise<ControlOutcome | undefined>): Promise<boolean> {
    if (this.host.meta.value('imported') !== undefined) return true;
    const cells: CellPlacement[] = this.host.sql
      .exec<{ id: string }>(`SELECT id FROM cells WHERE id != ? ORDER BY id`, CONTROL_CELL)
      .toArray()
      .map((r) => this.host.cell(r.id)!)
      .map((c) => ({ id: c.id, homeRegion: c.homeRegion, regions: c.regions, voters: c.voters, tenants: c.tenants }));
    let after = '';
    for (;;) {
      const ids = this.host.sql.exec<{ id: string }>(`SELECT id FROM tenants WHERE status != 'provisioning' AND id > ? ORDER BY id LIMIT ?`, after, IMPORT_PAGE).toArray().map((r) => r.id);
      const tenants = ids.map((id) => ({ ...this.row(id)!, rev: 0 }));
      const outcome = await write({ op: 'import', tenants, cells: after === '' ? cells : [], done: false });
      if (outcome?.kind !== 'reply') return false;
      if (ids.length < IMPORT_PAGE) break;
      after = ids[ids.length - 1]!;
    }
    // Then its creation requests of the last 24 h (their retries must find their tenant); the last page is the done one.
    const since = Date.now() - IDEMPOTENCY_TTL_MS;
    const legacy = this.legacyRequests();
    after = '';
    for (;;) {
      const requests = legacy ? this.requestPage(after, since) : [];
      const done = requests.length < IMPORT_PAGE;
      const outcome = await write({ op: 'import', tenants: [], cells: [], done, requests });
      if (outcome?.kind !== 'reply') return false;
      if (done) break;
      after = requests[requests.length - 1]!.id;
    }
    this.host.meta.put('imported', '1');
    return true;
  }

  /** Whether `global` has the `tenant_requests` table it kept before the control cell. */
  private legacyRequests(): boolean {
    return this.host.sql.exec(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'tenant_requests'`).toArray().length > 0;
  }

  private requestPage(after: string, since: number): LegacyRequest[] {
    return this.host.sql
      .exec<{ id: string; body_hash: string; tenant_id: string; sealed: string | null; created_at: number }>(
        `SELECT id, body_hash, tenant_id, sealed, created_at FROM tenant_requests WHERE id > ? AND created_at > ? ORDER BY id LIMIT ?`,
        after,
        since,
        IMPORT_PAGE,
      )
      .toArray()
      .map((r) => ({ id: r.id, record: { bodyHash: r.body_hash, tenantId: r.tenant_id, sealed: r.sealed, createdAt: r.created_at } }));
  }
}

/** A cell placement a copy learnt from the control cell, as a record: primary at home, epoch 1, until a failover says otherwise. */
export function placementRecord(p: CellPlacement): CellRecord {
  return { id: p.id, homeRegion: p.homeRegion as Region, regions: p.regions, voters: p.voters, membersVersion: 0, primaryRegion: p.homeRegion, epoch: 1, tenants: p.tenants };
}
